import Foundation
import NIOCore
import NIOFoundationCompat
import PropertyBased
import ShoalCore
import ShoalDiscovery
import ShoalTesting
import Testing

@testable import ShoalAdmin

/// Random instances whose strings reach every escape `JSONEncoder` knows, and weights of
/// every form a `Double` prints in.
struct RandomInstances {
    var random: SplitMix64

    /// With `wildKeys`, metadata keys with control characters too, which `JSONEncoder` sorts
    /// in an order of its own (after `é`, for one); the hand-written JSON sorts keys as Swift
    /// sorts strings, which is the same order for keys without them.
    mutating func instance(wildKeys: Bool = false) throws -> ServiceInstance {
        let metadata = Dictionary(
            (0..<Int(random.next() % 6)).map { _ in (wildKeys ? text(minimum: 1) : key(), text(minimum: 0)) },
            uniquingKeysWith: { first, _ in first })
        let weights = [1, 0.5, 1e-5, 3, 100_000_000, 1e16, 1e300, 0.1, 2.5e-7]
        let instance = try ServiceInstance(
            service: name(), id: name(), address: "10.0.\(random.next() % 256).\(random.next() % 256)",
            port: Int(random.next() % 65535) + 1,
            weight: random.next() % 4 == 0
                ? Double(random.next() % 1_000_000 + 1) / 1024 : weights[Int(random.next() % UInt64(weights.count))],
            zone: random.next() % 2 == 0 ? nil : text(minimum: 1),
            metadata: metadata,
            health: [HealthStatus.passing, .warning, .critical][Int(random.next() % 3)])
        return instance.stored(
            registeredAt: Int64(random.next() % 4_000_000_000_000), renewedAt: Int64(random.next() % 4_000_000_000_000))
    }

    /// A service or instance name: letters, digits, dots, dashes and underscores.
    mutating func name() -> String {
        let alphabet = Array("abcXYZ019.-_")
        return String(
            (0..<Int(random.next() % 12 + 1)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
    }

    /// A metadata key of printable characters, slashes and letters beyond ASCII among them.
    mutating func key() -> String {
        let alphabet = Array("abZ09._-/ é😀")
        return String(
            (0..<Int(random.next() % 8 + 1)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
    }

    /// Text with quotes, backslashes, slashes, every control character, DEL, and letters
    /// beyond ASCII.
    mutating func text(minimum: Int) -> String {
        let pieces: [String] = [
            "a", "Z", "0", "\"", "\\", "/", "\u{7f}", "é", "e\u{301}", "\u{2028}", "😀", " ", "_",
        ]
        return String(
            (0..<Int(random.next() % 10) + minimum).map { _ -> String in
                if random.next() % 4 == 0 { return String(UnicodeScalar(UInt8(random.next() % 0x20))) }
                return pieces[Int(random.next() % UInt64(pieces.count))]
            }.joined())
    }
}

@Suite("The registry's hand-written JSON")
struct HandWrittenJSONTests {
    @Test("an instance's JSON is byte for byte what JSONEncoder writes")
    func instances() async {
        await propertyCheck(count: 500, input: Gen.uint64()) { seed in
            await recordingThrows {
                var random = RandomInstances(random: SplitMix64(seed: seed))
                let body = InstanceBody(instance: try random.instance())
                #expect(String(buffer: body.json) == String(decoding: JSON.encode(body), as: UTF8.self))
            }
        }
    }

    @Test("with any metadata keys, an instance's JSON says what JSONEncoder's says")
    func wildKeys() async {
        await propertyCheck(count: 300, input: Gen.uint64()) { seed in
            await recordingThrows {
                var random = RandomInstances(random: SplitMix64(seed: seed))
                let body = InstanceBody(instance: try random.instance(wildKeys: true))
                #expect(try canonical(Data(buffer: body.json)) == canonical(JSON.encode(body)))
            }
        }
    }

    @Test("a snapshot's JSON, with and without its kind, is byte for byte what JSONEncoder writes")
    func snapshots() async {
        await propertyCheck(count: 100, input: Gen.uint64()) { seed in
            await recordingThrows {
                var random = RandomInstances(random: SplitMix64(seed: seed))
                let instances = try (0..<Int(random.random.next() % 5)).map { _ in try random.instance() }
                let snapshot = ServiceSnapshot(
                    service: random.name(), index: random.random.next() >> 1, instances: instances,
                    isStale: random.random.next() % 2 == 0)
                for withKind in [false, true] {
                    let body = SnapshotBody(snapshot: snapshot, withKind: withKind)
                    #expect(
                        String(buffer: body.json) == String(decoding: JSON.encode(body), as: UTF8.self))
                }
            }
        }
    }

    @Test("a change's JSON parses, with every instance as its own JSON")
    func changes() throws {
        var random = RandomInstances(random: SplitMix64(seed: 7))
        let upserted = try (0..<3).map { _ in try random.instance() }
        let change = ServiceChange(service: "web", index: 42, upserted: upserted, removed: ["gone\n\"one\""])
        let json = ChangeBody.json(change, withKind: true, instances: InstanceJSONCache())
        let object = try #require(JSON.object(Data(buffer: json)))
        #expect(object["index"] as? Int == 42)
        #expect(object["kind"] as? String == "changes")
        #expect(object["removed"] as? [String] == ["gone\n\"one\""])
        let sent = try #require(object["upserted"] as? [[String: Any]])
        #expect(sent.count == 3)
        for instance in upserted {
            let alone = try #require(sent.first { $0["id"] as? String == instance.id })
            let expected = try canonical(JSON.encode(InstanceBody(instance: instance)))
            #expect(String(decoding: JSON.encode(alone), as: UTF8.self) == expected)
        }
    }

    @Test("the cache gives each version of an instance its own JSON")
    func cachedVersions() throws {
        let cache = InstanceJSONCache()
        let first = try ServiceInstance(service: "web", id: "a", address: "10.0.0.1", port: 80, metadata: ["v": "1"])
        var second = first
        second.metadata["v"] = "2"
        for instance in [first, second, first, first, second] {
            #expect(String(buffer: cache.json(instance)) == String(buffer: InstanceBody(instance: instance).json))
        }
    }

    /// The JSON parsed and written again with `JSONSerialization`, keys sorted.
    private func canonical(_ json: Data) throws -> String {
        String(decoding: JSON.encode(try #require(JSON.object(json))), as: UTF8.self)
    }
}
