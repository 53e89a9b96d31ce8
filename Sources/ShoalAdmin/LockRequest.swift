import Foundation
import ShoalCore
import ShoalLock

/// The bodies of the lock API's requests, read strictly: unknown fields and wrong types are
/// ``APIError``s (400) that name the field.
enum LockRequest {
    /// The longest time-to-live a lock over HTTP may have.
    static let maximumTTL = Duration.seconds(3600)
    /// The longest a request may wait in line (the request stays open meanwhile).
    static let maximumWait = Duration.seconds(600)

    /// `POST /v1/locks/{name}`: `{"ttl": "10s", "wait": "5s"}`, both optional (10 s and 0:
    /// one try).
    static func acquire(_ body: Data) throws(APIError) -> (ttl: Duration, wait: Duration) {
        let object = try fields(body, allowed: ["ttl", "wait"])
        let ttl = try duration(object, "ttl") ?? .seconds(10)
        guard ttl >= .milliseconds(100), ttl <= maximumTTL else {
            throw APIError(.badRequest, field: "ttl", "must be from 100ms to 1h")
        }
        let wait = try duration(object, "wait") ?? .zero
        guard wait <= maximumWait else { throw APIError(.badRequest, field: "wait", "must be at most 10m") }
        return (ttl, wait)
    }

    /// `PUT /v1/locks/{name}/renew` and `DELETE /v1/locks/{name}`: `{"token": "..."}`, the
    /// token the lock was acquired with.
    static func lease(_ body: Data, name: String, clock: any MonotonicClock) throws(APIError) -> LockLease {
        let object = try fields(body, allowed: ["token"])
        guard let token = object["token"] as? String else {
            throw APIError(.badRequest, field: "token", object["token"] == nil ? "is required" : "must be a string")
        }
        guard let lease = LockToken.lease(from: token, name: name, now: clock.now()) else {
            throw APIError(.badRequest, field: "token", "is not a token this API gave out")
        }
        return lease
    }

    /// The body's top-level object, with only `allowed` fields. An empty body is `{}`.
    private static func fields(_ body: Data, allowed: Set<String>) throws(APIError) -> [String: Any] {
        if body.isEmpty { return [:] }
        guard let object = JSON.object(body) else {
            throw APIError(.badRequest, field: "body", "must be a JSON object")
        }
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError(.badRequest, field: unknown, "is not a field of this request")
        }
        return object
    }

    private static func duration(_ object: [String: Any], _ key: String) throws(APIError) -> Duration? {
        guard let raw = object[key] else { return nil }
        guard let text = raw as? String, let duration = Duration(parsing: text) else {
            throw APIError(.badRequest, field: key, "must be a duration such as 500ms or 10s")
        }
        return duration
    }
}

/// The token a lock holder gets over HTTP: `<fencing token>.<ttl ms>.<secret>`. It carries
/// what a renewal needs, so any `shoal serve` on the same backend can renew or release it;
/// the secret is what the backend checks.
enum LockToken {
    static func make(_ lease: LockLease) -> String {
        "\(lease.fencingToken).\(milliseconds(lease.ttl)).\(lease.token)"
    }

    /// The lease a token stands for, confirmed from `now` (the backend has the last word).
    static func lease(from token: String, name: String, now: MonotonicInstant) -> LockLease? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let fencing = UInt64(parts[0]), let ttl = Int64(parts[1]), ttl > 0,
            ttl <= Int64(LockRequest.maximumTTL.totalNanoseconds / 1_000_000), !parts[2].isEmpty, parts[2].count <= 128,
            parts[2].allSatisfy(\.isHexDigit)
        else { return nil }
        let duration = Duration.milliseconds(ttl)
        return LockLease(
            name: name, token: String(parts[2]), fencingToken: fencing, ttl: duration, confirmedUntil: now + duration)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.totalNanoseconds / 1_000_000
    }
}
