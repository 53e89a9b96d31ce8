import Foundation
import Hummingbird
import ShoalCore
import ShoalLock
import Synchronization

/// The lock service over HTTP, for processes in any language (the OpenAPI description is
/// `Docs/registry-api.yaml`):
///
/// | request | body | reply |
/// |---|---|---|
/// | `POST /v1/locks/{name}` | `{"ttl":"10s","wait":"5s"}` | 200 `{"token","fencing_token","ttl_ms","confirmed_ms"}`; 409 when not acquired within `wait` |
/// | `PUT /v1/locks/{name}/renew` | `{"token"}` | 200 `{"fencing_token","ttl_ms"}`; 409 when that token no longer holds it |
/// | `DELETE /v1/locks/{name}` | `{"token"}` | 204; 409 when that token does not hold it |
/// | `GET /v1/locks` | — | the held locks: name, fencing token, time left, waiters; never tokens |
///
/// `confirmed_ms` is how long the lock is held for certain, counted from when the server
/// began handling the request: a client adds it to when it sent the request. After a wait
/// in line it is longer than `ttl_ms`, by about the wait; counted from the reply's arrival,
/// `ttl_ms` would claim time the lease may not have.
///
/// A holder renews before its `ttl` runs out (every third of it is usual). A request that
/// waits stays open for up to `wait`; a client that closes its connection meanwhile leaves
/// the line. Bad input gets 400 naming the field, and a backend that cannot be reached gets
/// 503.
public struct LockAPI: Sendable {
    public let locks: any DistributedLock & LockListing
    /// The most acquire requests that may wait in line at once, over all names; more get 503
    /// at once. Each waiting request holds a connection and a task for up to its `wait`.
    public let maximumWaiting: Int
    private let waiting = WaitingCount()

    public init(locks: any DistributedLock & LockListing, maximumWaiting: Int = 4096) {
        self.locks = locks
        self.maximumWaiting = maximumWaiting
    }

    /// The longest lock name, in bytes of UTF-8 (after percent-decoding the path).
    public static let maximumNameBytes = 512

    /// Adds the routes to `router`.
    public func addRoutes<Context: AdminCallerContext>(to router: Router<Context>) {
        let v1 = router.group("/v1")
        v1.get("/locks") { _, context in try await list(context) }
        v1.post("/locks/:name") { request, context in try await acquire(request, context) }
        v1.put("/locks/:name/renew") { request, context in try await renew(request, context) }
        v1.delete("/locks/:name") { request, context in try await release(request, context) }
    }

    private func acquire<Context: AdminCallerContext>(_ request: Request, _ context: Context) async throws -> Response {
        let arrived = locks.clock.now()
        let name = try Self.name(context)
        var request = request
        let (ttl, wait) = try LockRequest.acquire(try await Self.body(&request))
        let lease: LockLease
        do {
            if wait == .zero {
                guard let taken = try await locks.tryAcquire(name, ttl: ttl) else {
                    return RegistryAPI.error(.conflict, field: nil, "lock '\(name)' is held")
                }
                lease = taken
            } else {
                // A client that closes its connection while it waits leaves the line: the wait
                // is cancelled, and a lock granted as it left is released, so nobody is handed a
                // lock its holder will never renew. (Hummingbird then closes the connection
                // after the answer.)
                guard waiting.enter(limit: maximumWaiting) else {
                    return RegistryAPI.error(
                        .serviceUnavailable, field: nil,
                        "\(maximumWaiting) requests are already waiting for locks: try again later, or with a shorter wait"
                    )
                }
                defer { waiting.leave() }
                let locks = locks
                lease = try await request.body.consumeWithCancellationOnInboundClose { _ in
                    let lease = try await locks.acquire(name, ttl: ttl, wait: wait)
                    if Task.isCancelled {
                        _ = try? await locks.release(lease)
                        throw CancellationError()
                    }
                    return lease
                }
            }
        } catch let error as LockError {
            return Self.response(error)
        }
        AdminAudit.record("lock", "\(name) fencing_token=\(lease.fencingToken)", context)
        return RegistryAPI.json(
            .ok,
            [
                "token": LockToken.make(lease), "fencing_token": lease.fencingToken,
                "ttl_ms": LockToken.milliseconds(ttl),
                "confirmed_ms": LockToken.milliseconds(max(lease.confirmedUntil - arrived, .zero)),
            ]
                as [String: Any])
    }

    private func renew<Context: AdminCallerContext>(_ request: Request, _ context: Context) async throws -> Response {
        let name = try Self.name(context)
        var request = request
        let lease = try LockRequest.lease(try await Self.body(&request), name: name, clock: locks.clock)
        do {
            let renewed = try await locks.renew(lease)
            return RegistryAPI.json(
                .ok,
                ["fencing_token": renewed.fencingToken, "ttl_ms": LockToken.milliseconds(renewed.ttl)] as [String: Any])
        } catch let lost as LockLost {
            return RegistryAPI.error(.conflict, field: nil, "\(lost)")
        } catch let error as LockError {
            return Self.response(error)
        }
    }

    private func release<Context: AdminCallerContext>(_ request: Request, _ context: Context) async throws -> Response {
        let name = try Self.name(context)
        var request = request
        let lease = try LockRequest.lease(try await Self.body(&request), name: name, clock: locks.clock)
        do {
            switch try await locks.release(lease) {
            case .released: return Response(status: .noContent)
            case .notHeld:
                return RegistryAPI.error(.conflict, field: nil, "lock '\(name)' is not held under this token")
            }
        } catch let error as LockError {
            return Self.response(error)
        }
    }

    /// The held locks; a caller with scoped rights sees only those its rights match.
    private func list<Context: AdminCallerContext>(_ context: Context) async throws -> Response {
        let held: [HeldLock]
        do {
            held = try await locks.heldLocks()
        } catch let error as LockError {
            return Self.response(error)
        }
        let visible = context.caller.map { caller in held.filter { caller.mayUseLock($0.name) } } ?? held
        let body = visible.map { lock in
            [
                "name": lock.name, "fencing_token": lock.fencingToken,
                "expires_in_ms": LockToken.milliseconds(lock.expiresIn), "waiters": lock.waiters,
            ] as [String: Any]
        }
        return RegistryAPI.json(.ok, ["locks": body])
    }

    private static func response(_ error: LockError) -> Response {
        switch error.code {
        case .notAcquired: RegistryAPI.error(.conflict, field: nil, error.message)
        case .invalidArgument: RegistryAPI.error(.badRequest, field: nil, error.message)
        default: RegistryAPI.error(.serviceUnavailable, field: nil, error.message)
        }
    }

    /// The largest request body accepted.
    static let maximumBodyBytes = 4096

    /// The request's body, collected into the request (so a handler can still watch for the
    /// client closing its connection afterwards).
    private static func body(_ request: inout Request) async throws -> Data {
        do {
            return Data(buffer: try await request.collectBody(upTo: maximumBodyBytes))
        } catch {
            throw APIError(.contentTooLarge, field: "body", "must be at most \(maximumBodyBytes) bytes")
        }
    }

    private static func name<Context: AdminCallerContext>(_ context: Context) throws -> String {
        // The path segment as sent: percent-encoded bytes are decoded.
        guard let name = try context.parameters.require("name").removingPercentEncoding else {
            throw APIError(.badRequest, field: "name", "is not valid percent-encoded UTF-8")
        }
        guard !name.isEmpty, name.utf8.count <= maximumNameBytes,
            !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw APIError(
                .badRequest, field: "name", "must be 1 to \(maximumNameBytes) bytes without control characters")
        }
        return name
    }
}

/// How many acquire requests wait now.
private final class WaitingCount: Sendable {
    private let count = Atomic<Int>(0)

    /// Counts one more, unless `limit` wait already.
    func enter(limit: Int) -> Bool {
        if count.add(1, ordering: .relaxed).newValue > limit {
            count.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func leave() {
        count.subtract(1, ordering: .relaxed)
    }
}
