import Foundation
import HTTPTypes

/// What a request to the admin API needs, worked out from its method and path alone, before
/// it is routed: the middleware checks it against the caller's rights.
///
/// Every route of the admin router has a rule here; a path no rule knows needs ``all``, so a
/// route added without a rule is closed to every scoped token (and a test that walks the
/// router's routes fails).
public enum AdminRequirement: Sendable, Equatable, CustomStringConvertible {
    /// Open to all: the liveness probe and the dashboard's files.
    case open
    /// ``AdminRight/read``.
    case read
    /// ``AdminRight/register(_:)`` for this service.
    case register(String)
    /// ``AdminRight/lock(_:)`` for this lock.
    case lock(String)
    /// Any ``AdminRight/lock(_:)``: listing locks, which shows only those the caller's rights match.
    case anyLock
    /// ``AdminRight/status``.
    case status
    /// ``AdminRight/all``.
    case all

    /// The rule for `method` on `path`, or `nil` for a path no rule knows.
    public static func rule(method: HTTPRequest.Method, path: String) -> AdminRequirement? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        guard let first = parts.first else { return nil }
        if parts.count == 1 && (first == "" || first == "healthz") { return .open }
        if first == "dashboard" { return .open }
        if parts.count == 1 && first == "metrics" { return .status }
        guard first == "v1", parts.count >= 2 else { return nil }
        let rest = Array(parts.dropFirst())
        switch rest[0] {
        case "gateway" where rest.count == 1 && method == .get:
            return .status
        case "services" where method == .get && (rest.count <= 2 || rest.count == 3 && rest[2] == "events"):
            return .read
        case "services" where rest.count >= 4 && rest[2] == "instances":
            return rest.count == 4 || rest.count == 5 && ["renew", "health"].contains(rest[4]) ? .register(rest[1]) : nil
        case "locks" where rest.count == 1 && method == .get:
            return .anyLock
        case "locks" where rest.count == 2 || rest.count == 3 && rest[2] == "renew":
            // The name as the lock API reads it: percent-decoded.
            return rest[1].removingPercentEncoding.map { .lock($0) }
        default:
            return nil
        }
    }

    /// Whether `rights` meet the requirement.
    public func isMet(by rights: [AdminRight]) -> Bool {
        rights.contains { right in
            switch (self, right) {
            case (.open, _), (_, .all): true
            case (.read, .read), (.status, .status), (.anyLock, .lock): true
            case (.register(let service), .register(let glob)): glob.matches(service)
            case (.lock(let name), .lock(let glob)): glob.matches(name)
            default: false
            }
        } || self == .open
    }

    /// The right a caller without it lacks, as a 403 names it.
    public var description: String {
        switch self {
        case .open: "none"
        case .read: "read"
        case .register(let service): "register:\(service)"
        case .lock(let name): "lock:\(name)"
        case .anyLock: "lock:GLOB"
        case .status: "status"
        case .all: "all"
        }
    }
}
