import Crypto
import Synchronization

/// The tokens the admin API accepts, replaceable while it runs (SIGHUP reloads a tokens
/// file): the single `--token`, which has every right, and those of a tokens file.
///
/// A presented token is hashed with SHA-256 and compared with every stored hash in constant
/// time, without stopping at a match, so the time a request takes tells nothing about which
/// stored token, or how much of one, a guess came close to.
public final class AdminTokens: Sendable {
    private let tokens: Mutex<[AdminToken]>
    /// Whether requests need a token: decided when the API starts, so that a reload that
    /// leaves no token closes the API rather than opening it.
    public let required: Bool

    /// The name the single `--token` goes by in audit records.
    public static let singleTokenName = "token"

    /// - Parameters:
    ///   - single: the `--token` value, if any: a token with every right.
    ///   - file: the tokens of a tokens file.
    ///   - required: whether requests need a token even when there is none (a tokens file
    ///     was named, however few tokens it holds); by default, when any token is given.
    public init(single: String? = nil, file: [AdminToken] = [], required: Bool? = nil) {
        let merged = Self.merge(single: single, file: file)
        tokens = Mutex(merged)
        self.required = required ?? !merged.isEmpty
    }

    /// Whether no token is set now.
    public var isEmpty: Bool { tokens.withLock { $0.isEmpty } }

    /// Replaces the tokens (a reload).
    public func replace(single: String?, file: [AdminToken]) {
        let merged = Self.merge(single: single, file: file)
        tokens.withLock { $0 = merged }
    }

    /// The caller that presents `token`, or `nil` when no stored token is it.
    public func caller(presenting token: String) -> AdminCaller? {
        let hash = Array(SHA256.hash(data: Array(token.utf8)))
        let tokens = self.tokens.withLock { $0 }
        var found: AdminToken?
        for stored in tokens where Self.constantTimeEqual(stored.sha256, hash) {
            if found == nil { found = stored }
        }
        return found.map { AdminCaller(name: $0.name, rights: $0.rights) }
    }

    /// The SHA-256 of `token`, in lower-case hex, as a tokens file holds it.
    public static func hash(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// Compares every byte, whatever the first difference: the time taken does not tell how
    /// much of a guess was right.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<a.count { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    private static func merge(single: String?, file: [AdminToken]) -> [AdminToken] {
        let first = single.map {
            AdminToken(name: singleTokenName, sha256: Array(SHA256.hash(data: Array($0.utf8))), rights: [.all])
        }
        return (first.map { [$0] } ?? []) + file
    }
}
