/// One token of the admin API, as a tokens file holds it: a name, the SHA-256 of the token
/// (never the token itself), and its rights.
public struct AdminToken: Sendable, Equatable {
    /// The name audit records and errors about the file use; never the token.
    public let name: String
    /// The SHA-256 of the token's UTF-8 bytes.
    public let sha256: [UInt8]
    public let rights: [AdminRight]

    /// - Parameter sha256: 32 bytes.
    public init(name: String, sha256: [UInt8], rights: [AdminRight]) {
        precondition(sha256.count == 32, "a SHA-256 is 32 bytes")
        self.name = name
        self.sha256 = sha256
        self.rights = rights
    }
}
