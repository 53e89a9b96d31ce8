import Foundation
import PropertyBased
import ShoalCore
import ShoalTesting
import Testing

@testable import ShoalHashing

/// The C driver of scripts/vectors, compiled against the libmemcached installed here.
enum LibmemcachedDriver {
    static let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../scripts/vectors/ketama_libmemcached.c").standardized

    /// scripts/test sets SHOAL_REQUIRE_REFERENCES=1 so that a missing library fails the run.
    static var isRequired: Bool { ProcessInfo.processInfo.environment["SHOAL_REQUIRE_REFERENCES"] == "1" }

    static var isInstalled: Bool {
        FileManager.default.fileExists(atPath: "/usr/include/libmemcached/memcached.h")
    }

    /// The compiled driver, or the reason it could not be built.
    static let binary: Result<URL, DriverError> = {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent(
            "shoal-ketama-libmemcached-\(getpid())")
        do {
            let status = try ChildProcess.run(
                URL(fileURLWithPath: "/usr/bin/env"), ["cc", "-O2", "-o", output.path, source.path, "-lmemcached"]
            ).status
            return status == 0 ? .success(output) : .failure(DriverError(message: "cc failed with status \(status)"))
        } catch {
            return .failure(DriverError(message: "cannot run cc: \(error)"))
        }
    }()

    struct DriverError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}

@Suite(
    "Ketama against the live libmemcached",
    .enabled(
        if: LibmemcachedDriver.isInstalled || LibmemcachedDriver.isRequired,
        "needs gcc and libmemcached-dev (scripts/test installs them)"))
struct LibmemcachedDifferentialTests {
    @Test("random weighted server sets place 400 random keys exactly as libmemcached does")
    func randomServerSets() async throws {
        #expect(LibmemcachedDriver.isInstalled, "libmemcached-dev is not installed")
        // Compiling and running the driver block: on threads of their own, not the few that
        // every test's async code shares.
        let driver = try await blocking { try LibmemcachedDriver.binary.get() }
        let ports = [11211, 11211, 11212, 6379, 22122]
        await propertyCheck(count: 40, input: Gen.int(in: 1...100), Gen.uint64()) { count, seed in
            await recordingThrows {
                var random = SplitMix(seed: seed)
                let servers = try (0..<count).map { i in
                    let host =
                        random.next() % 2 == 0
                        ? "10.\(random.next() % 256).\(random.next() % 256).\(i)" : "cache-\(i).example"
                    let weight = random.next() % 3 == 0 ? Double(random.next() % 10 + 1) : 1
                    return try Endpoint(host: host, port: ports[Int(random.next() % 5)], weight: weight)
                }
                let keys = (0..<400).map { i in
                    let length = Int(random.next() % 30)
                    let scalars = (0..<length).compactMap { _ in
                        Unicode.Scalar(
                            random.next() % 4 == 0
                                ? UInt32(0x400 + random.next() % 0x200) : UInt32(0x21 + random.next() % 0x5D))
                    }
                    return "\(i):" + String(String.UnicodeScalarView(scalars.filter { $0 != "," }))
                }
                let arguments = servers.map { "\($0.address)=\(Int($0.weight))" }
                let input = Data((keys.joined(separator: "\n") + "\n").utf8)
                let result = try await blocking { try ChildProcess.run(driver, arguments, stdin: input) }
                #expect(result.status == 0)
                let rows = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n").dropFirst()
                #expect(rows.count == keys.count)
                let ring = try KetamaRing(nodes: servers, flavor: .libmemcached)
                var differing = 0
                for (key, row) in zip(keys, rows)
                where ring.node(for: key).address != row[row.index(after: row.lastIndex(of: ",")!)...] {
                    differing += 1
                }
                #expect(differing == 0, "\(differing) of \(keys.count) keys differ for \(arguments)")
            }
        }
    }
}
