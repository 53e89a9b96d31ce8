import Foundation
import ShoalTesting
import Testing

/// HTTP/2 attacks on the gateway, as real bytes on a socket: each ends the attacker's
/// connection (or refuses its excess), costs the instances nothing or little, and leaves the
/// process up and serving.
@Suite("shoal serve: HTTP/2 floods and limits")
struct GatewayHTTP2LimitTests {
    typealias F = HTTP2Frames

    typealias Fixture = HTTP2GatewayFixture

    @Test("rapid reset: 10,000 streams opened and reset at once; the connection is closed, few reach the instance")
    func rapidReset() async throws {
        let fixture = try await Fixture()
        defer { fixture.stop() }
        let before = try await fixture.web.requestsServed()
        let memoryBefore = fixture.serve.memory.resident
        var bytes = F.opening()
        for n in 0..<10_000 {
            let stream = UInt32(2 * n + 1)
            bytes += F.frame(.headers, flags: F.endHeaders | F.endStream, stream: stream, F.get("/api/x?n=\(n)"))
            bytes += F.frame(.rstStream, stream: stream, F.bigEndian(8))  // CANCEL
        }
        let (frames, end) = try await fixture.attack(bytes)
        // GOAWAY (ENHANCE_YOUR_CALM) goes first, but the close with bytes unread resets the
        // connection, which may drop it before it is read: the close is what is checked.
        #expect(end == .closed, "the gateway kept the connection open: \(F.parse(frames).map(\.kind))")
        try await Task.sleep(for: .milliseconds(300))
        let reached = try await fixture.web.requestsServed() - before
        #expect(reached <= 100, "\(reached) of the reset streams reached the instance")
        #expect(fixture.serve.memory.resident - memoryBefore < 64 << 20)
        #expect(try await fixture.stillServes())
    }

    @Test("a header block that never ends (CONTINUATION flood) and an HPACK bomb are refused without growing")
    func headerBlocks() async throws {
        let fixture = try await Fixture()
        defer { fixture.stop() }
        let before = try await fixture.web.requestsServed()
        let memoryBefore = fixture.serve.memory.resident

        var flood = F.opening() + F.frame(.headers, stream: 1, F.get("/api/x"))
        for n in 0..<20_000 { flood += F.frame(.continuation, stream: 1, F.literal("x-flood-\(n)", "v")) }
        let continuation = try await fixture.attack(flood)
        #expect(continuation.end == .closed)

        // One 4,000-byte field in the dynamic table, then 20,000 one-byte references to it:
        // 80 MB of fields from a 20 kB block.
        var block = F.get("/api/x") + F.literal("x-bomb", String(repeating: "a", count: 4000), indexing: true)
        block += Array(repeating: F.indexed(62), count: 20_000).flatMap { $0 }
        let bomb = try await fixture.attack(
            F.opening() + F.frame(.headers, flags: F.endHeaders | F.endStream, stream: 1, block))
        #expect(bomb.end == .closed)

        #expect(try await fixture.web.requestsServed() == before, "neither reached the instance")
        #expect(fixture.serve.memory.resident - memoryBefore < 64 << 20)
        #expect(try await fixture.stillServes())
    }

    @Test(
        "PING and SETTINGS floods from a client that reads nothing end its connection", arguments: ["ping", "settings"])
    func controlFloods(_ kind: String) async throws {
        let fixture = try await Fixture()
        defer { fixture.stop() }
        let memoryBefore = fixture.serve.memory.resident
        var bytes = F.opening()
        for n in 0..<200_000 {
            bytes +=
                kind == "ping"
                ? F.frame(.ping, F.bigEndian(UInt32(n)) + F.bigEndian(0))
                : F.frame(.settings, [0, 3] + F.bigEndian(100))
        }
        let (_, end) = try await fixture.attack(bytes)
        #expect(end == .closed, "the gateway kept buffering its answers")
        #expect(fixture.serve.memory.resident - memoryBefore < 64 << 20)
        #expect(try await fixture.stillServes())
    }

    @Test("a client may open 100 streams at once (SETTINGS_MAX_CONCURRENT_STREAMS); the 101st ends its connection")
    func concurrentStreams() async throws {
        let fixture = try await Fixture()
        defer { fixture.stop() }
        /// Opens `count` streams, each a POST whose body never comes; how the read ended.
        func open(_ count: Int) async throws -> RawConnection.ReadEnd {
            var bytes = F.opening()
            for n in 0..<count {
                let block =
                    F.literal(":method", "POST") + F.literal(":scheme", "http")
                    + F.literal(":path", "/api/up") + F.literal(":authority", "gateway")
                bytes += F.frame(.headers, flags: F.endHeaders, stream: UInt32(2 * n + 1), block)
            }
            return try await fixture.attack(bytes, timeout: 2).end
        }
        #expect(try await open(100) == .timedOut, "100 streams are within the limit")
        // swift-nio-http2 takes the excess stream as a protocol error of the connection
        // (GOAWAY PROTOCOL_ERROR), which RFC 9113 §5.1.2 allows it to be.
        #expect(try await open(101) == .closed)
        #expect(try await fixture.stillServes())
    }

    @Test("a connection that opens no stream is closed after the idle timeout (GOAWAY, PING, GOAWAY)")
    func idle() async throws {
        let fixture = try await Fixture(
            config: GatewayTests.routes.replacing("limits:\n", with: "limits:\n  idle_timeout: 1s\n"))
        defer { fixture.stop() }
        let port = fixture.serve.gatewayPort
        let started = ContinuousClock.now
        let end = try await blocking {
            let connection = try RawConnection(port: port, timeout: 8)
            connection.send(F.opening())
            return F.readAnsweringPings(connection).end
        }
        #expect(end == .closed, "the gateway held an idle HTTP/2 connection open")
        #expect(ContinuousClock.now - started < .seconds(6))
    }

    @Test(
        "a client that never opens its window: 20 downloads of 5 MB wait at the instances, not in the gateway, and are reset after the send timeout"
    )
    func closedWindow() async throws {
        let fixture = try await Fixture(
            config: GatewayTests.routes.replacingOccurrences(of: "limits:\n", with: "limits:\n  send_timeout: 1s\n"))
        defer { fixture.stop() }
        let memoryBefore = fixture.serve.memory.resident
        // SETTINGS_INITIAL_WINDOW_SIZE 0: the gateway may send no DATA on any stream, and
        // the client never sends a WINDOW_UPDATE.
        var bytes = F.opening(settings: [(0x4, 0)])
        for n in 0..<20 {
            bytes += F.frame(
                .headers, flags: F.endHeaders | F.endStream, stream: UInt32(2 * n + 1),
                F.get("/api/download?bytes=5000000&n=\(n)"))
        }
        let (frames, _) = try await fixture.attack(bytes, timeout: 3)
        let parsed = F.parse(frames)
        #expect(!parsed.contains { $0.kind == F.Kind.data.rawValue && !$0.payload.isEmpty })
        // After the send timeout (1 s), each stream is reset, and the instance let go.
        let reset: Set<UInt32> = Set(parsed.filter { $0.kind == F.Kind.rstStream.rawValue }.map(\.stream))
        let streams: Set<UInt32> = Set((0..<20).map { UInt32(2 * $0 + 1) })
        let kinds: [String] = parsed.map { "\($0.kind)/\($0.stream)" }
        #expect(reset == streams, "\(kinds)")
        // 100 MB were asked for: reading stops at each instance connection's buffers.
        let grown = fixture.serve.memory.peak - memoryBefore
        #expect(grown < 48 << 20, "the gateway grew by \(grown >> 20) MiB")
        #expect(try await fixture.stillServes())
    }

    @Test("a stream the codec refuses (a capital in a field name) is reset alone; the next stream is served")
    func streamError() async throws {
        let fixture = try await Fixture()
        defer { fixture.stop() }
        let bytes =
            F.opening()
            + F.frame(.headers, flags: F.endHeaders | F.endStream, stream: 1, F.get("/api/x") + F.literal("X-Bad", "1"))
            + F.frame(.headers, flags: F.endHeaders | F.endStream, stream: 3, F.get("/api/x"))
        let frames = F.parse(try await fixture.attack(bytes, timeout: 3).frames)
        let kinds = frames.map { "\($0.kind)/\($0.stream)" }
        #expect(frames.contains { $0.kind == F.Kind.rstStream.rawValue && $0.stream == 1 }, "\(kinds)")
        #expect(!frames.contains { $0.kind == F.Kind.goAway.rawValue }, "\(kinds)")
        let end = frames.last { $0.stream == 3 }
        #expect(end?.kind == F.Kind.data.rawValue && end?.flags == F.endStream, "\(kinds)")
    }
}
