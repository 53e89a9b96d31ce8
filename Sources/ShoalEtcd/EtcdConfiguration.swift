/// How to reach an etcd cluster: its members, credentials and time limits.
///
/// ```swift
/// let configuration = EtcdConfiguration(
///     endpoints: try EtcdEndpoint.list("http://10.0.0.1:2379,http://10.0.0.2:2379,http://10.0.0.3:2379"))
/// ```
public struct EtcdConfiguration: Sendable {
    /// The members to reach, tried in order: a call goes to one member, and moves to the next
    /// when that one fails, has no leader, or does not answer within ``requestTimeout``.
    public var endpoints: [EtcdEndpoint]
    /// For etcd's authentication (`etcdctl auth enable`): the user and password, exchanged
    /// for a token on the first call and again whenever etcd says the token is no longer valid.
    public var username: String?
    /// The password of ``username``.
    public var password: String?
    /// Trust and identity for `https://` endpoints.
    public var tls: EtcdTLS
    /// How long one try of a call may take before it is given up on that member. Default 1 s:
    /// a call on a follower when its leader dies hangs until this passes (the follower forwarded
    /// it to the dead leader), so it bounds how soon calls go on after a leader's death.
    public var requestTimeout: Duration
    /// How long a call that may be repeated safely (a read, a lease keep-alive, a write that
    /// checks first) goes on trying other members before it fails. Default 10 s: longer than
    /// an election.
    public var retryWindow: Duration

    /// A configuration; only `endpoints` is required.
    public init(
        endpoints: [EtcdEndpoint], username: String? = nil, password: String? = nil, tls: EtcdTLS = EtcdTLS(),
        requestTimeout: Duration = .seconds(1), retryWindow: Duration = .seconds(10)
    ) {
        self.endpoints = endpoints
        self.username = username
        self.password = password
        self.tls = tls
        self.requestTimeout = requestTimeout
        self.retryWindow = retryWindow
    }
}

/// Files for etcd's TLS: the CA that signed the members' certificates (the system's roots
/// when `nil`), and a client certificate and key for members that ask for one
/// (`--client-cert-auth`).
public struct EtcdTLS: Sendable, Hashable {
    /// A PEM file of CA certificates to trust; the system's when `nil`.
    public var caFile: String?
    /// A PEM file with this client's certificate chain, for members that ask for one.
    public var certificateFile: String?
    /// The PEM file of ``certificateFile``'s private key.
    public var keyFile: String?

    /// Files for TLS; none by default (the system's trust roots, no client certificate).
    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }
}
