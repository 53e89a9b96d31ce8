/// What a token of the admin API may do. A token holds a list of them.
public enum AdminRight: Sendable, Hashable, CustomStringConvertible {
    /// Read the registry: services, their instances, their events.
    case read
    /// Register, renew, set the health of and deregister instances of the matching services.
    case register(NameGlob)
    /// Take, renew and release the matching locks, and see them in the list of locks.
    case lock(NameGlob)
    /// Read `/v1/gateway` and `/metrics`.
    case status
    /// Everything: what the single `--token` grants.
    case all

    /// Reads a right as a tokens file spells it: `read`, `register:GLOB`, `lock:GLOB`,
    /// `status` or `all`; `nil` for anything else.
    public init?(parsing text: String) {
        switch text {
        case "read": self = .read
        case "status": self = .status
        case "all": self = .all
        default:
            guard let colon = text.firstIndex(of: ":") else { return nil }
            let glob = String(text[text.index(after: colon)...])
            guard !glob.isEmpty else { return nil }
            switch text[..<colon] {
            case "register": self = .register(NameGlob(glob))
            case "lock": self = .lock(NameGlob(glob))
            default: return nil
            }
        }
    }

    public var description: String {
        switch self {
        case .read: "read"
        case .register(let glob): "register:\(glob)"
        case .lock(let glob): "lock:\(glob)"
        case .status: "status"
        case .all: "all"
        }
    }

    /// The rights a tokens file may name, as its error messages list them.
    public static let spellings = "read, register:GLOB, lock:GLOB, status, all"
}
