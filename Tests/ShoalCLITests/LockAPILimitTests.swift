import Foundation
import Hummingbird
import Logging
import ShoalAdmin
import ShoalLock
import ShoalTesting
import Synchronization
import Testing

@Suite("the lock API's limit on waiting requests, in process on a real socket")
struct LockAPILimitTests {
    @Test("past maximumWaiting, an acquire that would wait gets 503 at once; a slot frees when a waiter leaves")
    func waitingLimit() async throws {
        let locks = EmbeddedLock()
        let bound = PortBox()
        let router = Router()
        LockAPI(locks: locks, maximumWaiting: 2).addRoutes(to: router)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { bound.set($0.localAddress?.port) }, logger: Logger(label: "test"))
        let running = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { running.cancel() }
        // Generous: CPU-bound tests elsewhere in the run can hold the shared threads for seconds.
        #expect(await eventually(within: 60) { bound.port != nil })
        let port = try #require(bound.port)
        _ = try #require(try await locks.tryAcquire("job", ttl: .seconds(60)))

        var first: RawConnection? = try Self.waiter(port: port)
        let second = try Self.waiter(port: port)
        #expect(await eventually(within: 5) { locks.waiterCount("job") == 2 })
        // The third's answer is read off the shared threads: the server under test runs on them,
        // and a blocking read there held one of the two for as long as it waited (a CI run
        // timed out so).
        let third = try await blocking { try Self.waiter(port: port).readResponse()?.status }
        #expect(third == 503)
        // One leaves: its slot is free again.
        first = nil
        #expect(await eventually(within: 5) { locks.waiterCount("job") == 1 })
        let fourth = try Self.waiter(port: port)
        #expect(await eventually(within: 5) { locks.waiterCount("job") == 2 })
        _ = (first, second, fourth)
    }

    /// A connection that asks for the lock, waiting up to 20 s.
    private static func waiter(port: Int) throws -> RawConnection {
        let body = #"{"ttl":"10s","wait":"20s"}"#
        let connection = try RawConnection(port: port)
        _ = connection.send(
            "POST /v1/locks/job HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        return connection
    }
}

/// The port the in-process server bound, handed over from its `onServerRunning`.
final class PortBox: Sendable {
    private let value = Mutex<Int?>(nil)
    func set(_ port: Int?) { value.withLock { $0 = port } }
    var port: Int? { value.withLock { $0 } }
}
