import Hummingbird
import NIOCore

/// A request context the admin API's routes read the caller from, for their audit records and
/// the list of locks. ``AdminRequestContext`` is the one `shoal serve` uses; Hummingbird's
/// `BasicRequestContext` conforms too, with no caller, for apps that mount the routes alone.
public protocol AdminCallerContext: RequestContext {
    /// The token the request came with, once it was checked; `nil` when nothing checks tokens.
    var caller: AdminCaller? { get }
    /// The client's IP address, or `unknown`.
    var clientAddress: String { get }
}

extension BasicRequestContext: AdminCallerContext {
    public var caller: AdminCaller? { nil }
    public var clientAddress: String { "unknown" }
}

/// The request context of the admin API: Hummingbird's core, the client's address, and once
/// ``AdminAccessMiddleware`` let the request through, who is calling.
public struct AdminRequestContext: AdminCallerContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's address, for the audit records.
    public let remoteAddress: SocketAddress?
    /// The token the request came with, once it was checked; `nil` when the API has no tokens.
    public var caller: AdminCaller?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        caller = nil
    }

    /// The client's IP address, or `unknown`.
    public var clientAddress: String { remoteAddress?.ipAddress ?? "unknown" }
}

/// Who made an admin request: the name of the token it carried and that token's rights.
public struct AdminCaller: Sendable, Equatable {
    public let name: String
    public let rights: [AdminRight]

    public init(name: String, rights: [AdminRight]) {
        self.name = name
        self.rights = rights
    }

    /// Whether the caller may take, renew, release and see the lock `name`.
    public func mayUseLock(_ name: String) -> Bool {
        AdminRequirement.lock(name).isMet(by: rights)
    }
}
