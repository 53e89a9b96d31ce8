import Foundation
import ShoalTesting
import Synchronization

/// GETs, one after another, through several gateways, as clients behind DNS round robin or a
/// layer-4 balancer send them: each worker keeps one keep-alive connection; a new connection
/// goes to the next gateway, and to the one after when a connect fails. A GET whose
/// connection closed before any byte of its answer is sent once more on a new connection, as
/// HTTP clients do for idempotent requests (RFC 9110, 9.2.2); it fails only if that fails too.
/// Each worker is a thread of its own: the sockets block. A worker waits `pauseMicroseconds` between
/// requests, so the load is steady without taking the cores from tests running beside it.
final class SteadyLoad: Sendable {
    struct Result: Sendable {
        var sent = 0
        var failed = 0
        /// GETs sent again after their connection closed with no answer.
        var resent = 0
        var failures: [String] = []
        var byBackend: [String: Int] = [:]
        var byGateway: [String: Int] = [:]
    }

    private let gateways: Mutex<[TestHost]>
    private let result = Mutex(Result())
    private let stopping = Atomic<Bool>(false)
    private let running = Atomic<Int>(0)
    private let pauseMicroseconds: UInt32

    /// Starts `workers` threads sending through `gateways` (port 8080 on each), each waiting
    /// `pauseMicroseconds` after each answer.
    init(through gateways: [TestHost], workers: Int, pauseMicroseconds: UInt32 = 2000) {
        self.gateways = Mutex(gateways)
        self.pauseMicroseconds = pauseMicroseconds
        for worker in 0..<workers {
            running.add(1, ordering: .relaxed)
            Thread.detachNewThread { [self] in
                work(startingAt: worker)
                running.subtract(1, ordering: .relaxed)
            }
        }
    }

    /// The gateways new connections go to, from now on.
    func send(through gateways: [TestHost]) {
        self.gateways.withLock { $0 = gateways }
    }

    /// What happened so far.
    var sofar: Result { result.withLock { $0 } }

    /// Stops the workers and returns what happened.
    func stop() async -> Result {
        stopping.store(true, ordering: .relaxed)
        _ = await eventually(within: 30) { running.load(ordering: .relaxed) == 0 }
        return result.withLock { $0 }
    }

    private func work(startingAt first: Int) {
        var next = first
        var open: (connection: RawConnection, gateway: TestHost)?
        while !stopping.load(ordering: .relaxed) {
            if open == nil {
                open = connect(startingAt: &next)
            }
            guard let current = open else {
                record(failure: "no gateway accepted a connection")
                continue
            }
            var answer = get(on: current.connection, host: current.gateway)
            if answer == nil {
                // Closed before any answer: once more, on a new connection.
                result.withLock { $0.resent += 1 }
                open = connect(startingAt: &next)
                if let fresh = open { answer = get(on: fresh.connection, host: fresh.gateway) }
            }
            guard let (status, head, body) = answer, let gateway = open?.gateway else {
                open = nil
                record(failure: "no answer, twice")
                continue
            }
            let name = body.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            result.withLock {
                $0.sent += 1
                if status == 200, let name {
                    $0.byBackend[name, default: 0] += 1
                    $0.byGateway[gateway.address, default: 0] += 1
                } else {
                    $0.failed += 1
                    if $0.failures.count < 20 {
                        $0.failures.append("\(gateway.address): \(status) \(body.prefix(100))")
                    }
                }
            }
            if head.lowercased().contains("connection: close") { open = nil }
            usleep(pauseMicroseconds)
        }
    }

    private func connect(startingAt next: inout Int) -> (connection: RawConnection, gateway: TestHost)? {
        let choices = gateways.withLock { $0 }
        for _ in choices.indices {
            let gateway = choices[next % choices.count]
            next += 1
            if let connection = try? RawConnection(host: gateway.address, port: 8080, timeout: 10) {
                return (connection, gateway)
            }
        }
        return nil
    }

    private func get(on connection: RawConnection, host: TestHost) -> (Int, String, String)? {
        guard connection.send("GET /walkthrough HTTP/1.1\r\nHost: \(host.address)\r\n\r\n"),
            let response = connection.readResponse()
        else { return nil }
        return (response.status, response.head, String(decoding: response.body, as: UTF8.self))
    }

    private func record(failure: String) {
        result.withLock {
            $0.sent += 1
            $0.failed += 1
            if $0.failures.count < 20 { $0.failures.append(failure) }
        }
    }
}
