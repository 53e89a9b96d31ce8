import AsyncHTTPClient
import Foundation
import NIOHTTP1
import ShoalCore
import ShoalLock

/// Locks from the lock service of a `shoal serve` (its `/v1/locks` API), for processes that
/// do not reach Redis themselves. What the server's backend is (embedded or Redis) decides
/// who the lock excludes: every client of servers on the same backend.
///
/// ```swift
/// let locks = HTTPLockClient(server: "http://127.0.0.1:8081", token: secret)
/// try await locks.withLock("nightly-report", ttl: .seconds(10), wait: .seconds(30)) { lease in
///     try await store.write(report, fencingToken: lease.fencingToken)
/// }
/// ```
///
/// Call ``shutdown()`` when done with a client that made its own `HTTPClient`.
///
/// A lease's ``LockLease/token`` is the server's opaque token. Errors: ``LockError`` with
/// ``LockError/Code-swift.struct/notAcquired`` (409 after the wait),
/// ``LockError/Code-swift.struct/invalidArgument`` (the server refused the request: a bad
/// name or time, or a wrong bearer token) and ``LockError/Code-swift.struct/backendFailure``
/// (the server cannot be reached, or its backend cannot); ``LockLost`` when a renewal is
/// refused.
public struct HTTPLockClient: DistributedLock {
    public let clock: any MonotonicClock
    /// The server's admin address, such as `http://127.0.0.1:8081`.
    public var server: String { api.server }
    private let api: AdminAPI
    /// How long one request may take beyond the wait it asks for.
    private let requestTimeout: Duration

    /// The longest wait one request asks the server for; longer waits take several.
    static let longestWaitPerRequest = Duration.seconds(600)

    /// - Parameters:
    ///   - server: the admin listener's URL, `http://HOST:PORT`.
    ///   - token: the bearer token the server was started with, if any.
    ///   - client: the HTTP client to use. By default one of its own, set up as
    ///     `HTTPClient.Configuration.failingFast` (a refused connection fails at once).
    ///   - requestTimeout: the longest one request may take, beyond any wait in line.
    public init(
        server: String, token: String? = nil, client: HTTPClient? = nil, clock: any MonotonicClock = SystemClock(),
        requestTimeout: Duration = .seconds(5)
    ) {
        api = AdminAPI(server: server, token: token, client: client)
        self.clock = clock
        self.requestTimeout = requestTimeout
    }

    /// A client of an HTTPS admin API (`https://HOST:PORT`).
    ///
    /// - Parameter trust: the CA the server's certificate must chain to, and for mutual TLS
    ///   the client's certificate and key.
    /// - Throws: ``AdminTrustError`` when a file of `trust` cannot be used.
    public init(
        server: String, token: String? = nil, trust: AdminTrust, clock: any MonotonicClock = SystemClock(),
        requestTimeout: Duration = .seconds(5)
    ) throws(AdminTrustError) {
        api = try AdminAPI(server: server, token: token, trust: trust)
        self.clock = clock
        self.requestTimeout = requestTimeout
    }

    /// Shuts down the HTTP client this lock client made for itself (none when one was given).
    public func shutdown() async {
        await api.shutdown()
    }

    public func tryAcquire(_ name: String, ttl: Duration) async throws -> LockLease? {
        try LockLease.validate(name, ttl: ttl)
        let sentAt = clock.now()
        let reply = try await send(.POST, name, body: ["ttl": ttl.apiText], what: "acquire")
        if reply.status == .conflict { return nil }
        return try lease(from: reply, name: name, ttl: ttl, sentAt: sentAt)
    }

    public func acquire(_ name: String, ttl: Duration, wait: Duration) async throws -> LockLease {
        try LockLease.validate(name, ttl: ttl)
        guard wait >= .zero else { throw LockError(.invalidArgument, "wait must not be negative, not \(wait)") }
        let deadline = clock.now() + wait
        while true {
            let sentAt = clock.now()
            let part = min(max(deadline - sentAt, .zero), Self.longestWaitPerRequest)
            let reply = try await send(
                .POST, name, body: ["ttl": ttl.apiText, "wait": part.apiText], what: "acquire", waiting: part)
            if reply.status != .conflict { return try lease(from: reply, name: name, ttl: ttl, sentAt: sentAt) }
            if clock.now() >= deadline {
                throw LockError(.notAcquired, "lock '\(name)' is held; not acquired within \(wait)")
            }
        }
    }

    public func renew(_ lease: LockLease) async throws -> LockLease {
        let sentAt = clock.now()
        guard sentAt < lease.confirmedUntil else {
            throw LockLost(
                name: lease.name, fencingToken: lease.fencingToken,
                reason: "its lease ran out before this renewal (the holder stalled, or the server answered too slowly)")
        }
        let reply = try await send(.PUT, lease.name, suffix: "/renew", body: ["token": lease.token], what: "renew")
        if reply.status == .conflict {
            throw LockLost(
                name: lease.name, fencingToken: lease.fencingToken, reason: "the server says: \(reply.message)")
        }
        try Self.expect(.ok, reply, what: "renew", name: lease.name)
        return LockLease(
            name: lease.name, token: lease.token, fencingToken: lease.fencingToken, ttl: lease.ttl,
            confirmedUntil: sentAt + lease.ttl)
    }

    public func release(_ lease: LockLease) async throws -> LockReleaseOutcome {
        let reply = try await send(.DELETE, lease.name, body: ["token": lease.token], what: "release")
        if reply.status == .conflict { return .notHeld }
        try Self.expect(.noContent, reply, what: "release", name: lease.name)
        return .released
    }

    // MARK: Requests

    private typealias Reply = AdminAPI.Reply

    private func send(
        _ method: HTTPMethod, _ name: String, suffix: String = "", body: [String: String], what: String,
        waiting: Duration = .zero
    ) async throws -> Reply {
        do {
            return try await api.send(
                method, "/v1/locks/\(AdminAPI.segment(name))\(suffix)", body: body, timeout: waiting + requestTimeout,
                limit: 64 * 1024)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw LockError(
                .backendFailure, "cannot \(what) lock '\(name)': the lock service at \(server) failed: \(error)")
        }
    }

    private func lease(from reply: Reply, name: String, ttl: Duration, sentAt: MonotonicInstant) throws -> LockLease {
        try Self.expect(.ok, reply, what: "acquire", name: name)
        guard let token = reply.object["token"] as? String, let fencing = reply.object["fencing_token"] as? NSNumber
        else {
            throw LockError(.backendFailure, "cannot acquire lock '\(name)': \(server) answered without a token")
        }
        // Counted from the request's arrival, which came after `sentAt`: a bound that holds
        // after a wait in line too, where `sentAt + ttl` may already have passed. A server
        // without the field answered at once: the lease runs from the request.
        let confirmed = (reply.object["confirmed_ms"] as? NSNumber).map { Duration.milliseconds($0.int64Value) } ?? ttl
        return LockLease(
            name: name, token: token, fencingToken: fencing.uint64Value, ttl: ttl,
            confirmedUntil: sentAt + max(confirmed, .zero))
    }

    /// Maps an unexpected status to the error it means.
    private static func expect(_ status: HTTPResponseStatus, _ reply: Reply, what: String, name: String) throws {
        guard reply.status != status else { return }
        let message = "cannot \(what) lock '\(name)': \(reply.message)"
        switch reply.status.code {
        case 401: throw LockError(.invalidArgument, message + " (give the server's token)")
        case 400..<500: throw LockError(.invalidArgument, message)
        default: throw LockError(.backendFailure, message)
        }
    }
}
