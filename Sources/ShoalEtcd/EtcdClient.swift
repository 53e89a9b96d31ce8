import GRPCCore
import GRPCNIOTransportHTTP2Posix
import ServiceLifecycle
import ShoalCore
import Synchronization

/// A client of an etcd cluster's v3 API, over gRPC: keys, transactions, leases and watches.
///
/// It keeps a gRPC connection to each member it is given and sends each call to one of them,
/// the same one until it fails. A member that refuses connections, does not answer within
/// ``EtcdConfiguration/requestTimeout``, or has no leader (every call asks etcd to refuse
/// rather than wait when it has none, as etcd's own client does for watches) is left for the
/// next. A call that may be repeated safely — a read, a keep-alive, a write that compares
/// first — is tried again there, for up to ``EtcdConfiguration/retryWindow``, so a leader
/// change reaches its caller as a delay, not an error. Other writes report the failure: they
/// may have been applied.
///
/// The connections live in ``run()``: run the client as a `Service` (in a `ServiceGroup`),
/// or use ``withClient(_:_:)``.
///
/// ```swift
/// try await EtcdClient.withClient(configuration) { etcd in
///     try await etcd.put("greeting", "hello")
///     print(try await etcd.get("greeting")?.stringValue ?? "none")
/// }
/// ```
public final class EtcdClient: Service, Sendable {
    /// The members, credentials and time limits the client was made with.
    public let configuration: EtcdConfiguration
    /// One gRPC client per member, in ``EtcdConfiguration/endpoints`` order.
    let members: [GRPCClient<HTTP2ClientTransport.Posix>]
    let clock: any MonotonicClock
    private let state = Mutex(State())

    private struct State {
        /// The member calls go to now.
        var current = 0
        /// The authentication token, once one was obtained.
        var token: String?
        /// How many tries failed for want of a member (and were repeated, or reported).
        var unavailableTries = 0
    }

    /// Makes the client; it connects once ``run()`` runs.
    ///
    /// - Throws: ``EtcdError`` with ``EtcdError/Code-swift.struct/invalidArgument`` for no
    ///   endpoints, a password without a user, or TLS files on plain `http://` endpoints only.
    public init(_ configuration: EtcdConfiguration, clock: any MonotonicClock = SystemClock()) throws(EtcdError) {
        guard !configuration.endpoints.isEmpty else {
            throw EtcdError(.invalidArgument, "no etcd endpoint given: name at least one, as http://127.0.0.1:2379")
        }
        guard configuration.password == nil || configuration.username != nil else {
            throw EtcdError(.invalidArgument, "an etcd password was given without a user name")
        }
        self.configuration = configuration
        self.clock = clock
        var members: [GRPCClient<HTTP2ClientTransport.Posix>] = []
        for endpoint in configuration.endpoints {
            do {
                let transport = try HTTP2ClientTransport.Posix(
                    target: Self.target(endpoint),
                    transportSecurity: endpoint.secure ? Self.security(configuration.tls) : .plaintext,
                    config: Self.transportConfig)
                members.append(GRPCClient(transport: transport))
            } catch {
                throw EtcdError(.invalidArgument, "cannot make a connection to etcd at \(endpoint): \(error)")
            }
        }
        self.members = members
    }

    /// Reconnects quickly (a restarted member is back within a second or two), and pings an
    /// idle connection no more often than etcd allows (`--grpc-keepalive-min-time`, 5 s), so a
    /// member that vanished without closing is noticed. The server's pings are answered below
    /// the HTTP/2 codec (``HTTP2PingAnswerer``), which would otherwise close the connection
    /// after etcd's 200th in 30 seconds.
    static var transportConfig: HTTP2ClientTransport.Posix.Config {
        var config = HTTP2ClientTransport.Posix.Config.defaults
        config.backoff = .init(initial: .milliseconds(100), max: .seconds(2), multiplier: 1.6, jitter: 0.2)
        config.connection.keepalive = .init(time: .seconds(10), timeout: .seconds(5), allowWithoutCalls: false)
        config.channelDebuggingCallbacks.onCreateTCPConnection = { HTTP2PingAnswerer.install(on: $0) }
        return config
    }

    /// An IP address as it is; a name through DNS.
    static func target(_ endpoint: EtcdEndpoint) -> any ResolvableTarget {
        if endpoint.host.split(separator: ".").count == 4, endpoint.host.allSatisfy({ $0.isNumber || $0 == "." }) {
            return .ipv4(address: endpoint.host, port: endpoint.port)
        }
        if endpoint.host.contains(":") { return .ipv6(address: endpoint.host, port: endpoint.port) }
        return .dns(host: endpoint.host, port: endpoint.port)
    }

    static func security(_ tls: EtcdTLS) -> HTTP2ClientTransport.Posix.TransportSecurity {
        .tls { config in
            if let caFile = tls.caFile { config.trustRoots = .certificates([.file(path: caFile, format: .pem)]) }
            if let certificate = tls.certificateFile, let key = tls.keyFile {
                config.certificateChain = [.file(path: certificate, format: .pem)]
                config.privateKey = .file(path: key, format: .pem)
            }
        }
    }

    /// Keeps the connections until graceful shutdown (or cancellation), then closes them once
    /// the calls in flight end.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                for member in members {
                    group.addTask {
                        do {
                            try await member.runConnections()
                        } catch let error as RuntimeError where error.code == .clientIsStopped {
                            // Shut down before it ran (a body that made no call): nothing to close.
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            self.shutdown()
        }
    }

    /// Stops the connections once the calls in flight end; ``run()`` then returns.
    public func shutdown() {
        for member in members { member.beginGracefulShutdown() }
    }

    /// Runs a client of `configuration` for as long as `body` runs.
    public static func withClient<Result: Sendable>(
        _ configuration: EtcdConfiguration, clock: any MonotonicClock = SystemClock(),
        _ body: (EtcdClient) async throws -> Result
    ) async throws -> Result {
        let client = try EtcdClient(configuration, clock: clock)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            defer { client.shutdown() }
            let result = try await body(client)
            client.shutdown()
            try await group.waitForAll()
            return result
        }
    }

    /// The member calls go to now: its index in ``EtcdConfiguration/endpoints``.
    public var currentMember: Int { state.withLock { $0.current } }

    /// How many tries of calls failed because their member could not answer: refused, reset,
    /// leaderless, or too slow. A healthy cluster's count stays at zero.
    package var unavailableTries: Int { state.withLock { $0.unavailableTries } }

    /// Makes one call, to the current member and then, when it may be repeated
    /// (`idempotent`), to the others in turn until it succeeds or the retry window closes.
    ///
    /// `body` gets the member's client, the metadata every call carries (`hasleader`, and the
    /// token once authenticated) and the options with this try's time limit.
    func call<Response: Sendable>(
        _ what: String, idempotent: Bool, timeout: Duration? = nil,
        _ body: @Sendable (GRPCClient<HTTP2ClientTransport.Posix>, Metadata, CallOptions) async throws -> Response
    ) async throws -> Response {
        // `timeout` bounds every try together (a renewal is no use after its lease's end).
        let giveUpAt = clock.now() + min(timeout ?? configuration.retryWindow, configuration.retryWindow)
        var tries = 0
        var reauthenticated = false
        while true {
            let (index, token) = state.withLock { ($0.current, $0.token) }
            var options = CallOptions.defaults
            options.timeout = max(min(configuration.requestTimeout, giveUpAt - clock.now()), .milliseconds(1))
            options.waitForReady = false
            tries += 1
            let outcome: EtcdFailover
            do {
                if token == nil, configuration.username != nil { try await authenticate(on: index) }
                return try await body(members[index], metadata(), options)
            } catch let error as RPCError {
                if Task.isCancelled { throw CancellationError() }
                outcome = EtcdFailover.classify(error.code, message: error.message)
            } catch is CancellationError {
                throw CancellationError()
            } catch let error as EtcdError where error.code != .unavailable {
                throw error  // authentication refused the user: no other member would take it
            } catch let error as RuntimeError where error.code == .clientIsStopped {
                throw EtcdError(.unavailable, "the etcd client was shut down; \(what) was not sent")
            } catch {
                if Task.isCancelled { throw CancellationError() }
                outcome = .moveOn(EtcdError(.unavailable, "\(error)"))
            }
            switch outcome {
            case .fail(let error):
                throw error
            case .reauthenticate:
                guard !reauthenticated else {
                    throw EtcdError(
                        .unauthenticated,
                        "etcd refused a fresh token for \(what): check the user, its password and its roles")
                }
                reauthenticated = true
                state.withLock { $0.token = nil }
            case .moveOn(let error):
                state.withLock { $0.unavailableTries += 1 }
                moveOn(from: index)
                guard idempotent else {
                    throw EtcdError(
                        .unavailable, "\(what) failed on \(configuration.endpoints[index]): \(error.message)")
                }
                // The first round goes on at once; after each later round over every member, a
                // short pause (an election).
                let pause = tries % members.count == 0 ? EtcdFailover.pause(afterRound: tries / members.count) : .zero
                if pause > .zero {
                    guard clock.now() + pause < giveUpAt else {
                        throw EtcdError(
                            .unavailable,
                            "\(what) failed on every etcd member for \(configuration.retryWindow): \(error.message)")
                    }
                    try await clock.sleep(until: clock.now() + pause)
                } else if clock.now() >= giveUpAt {
                    throw EtcdError(
                        .unavailable,
                        "\(what) failed on every etcd member for \(configuration.retryWindow): \(error.message)")
                }
            }
        }
    }

    /// Leaves member `index` for the next, unless another call did so already.
    func moveOn(from index: Int) {
        state.withLock { state in
            if state.current == index { state.current = (index + 1) % members.count }
        }
    }

    /// What every call carries: `hasleader` (a member without a leader refuses at once, rather
    /// than hold the call until it times out) and the authentication token.
    func metadata() -> Metadata {
        var metadata: Metadata = ["hasleader": "true"]
        if let token = state.withLock({ $0.token }) { metadata.addString(token, forKey: "token") }
        return metadata
    }

    /// Forgets the token, so the next call gets a new one (etcd said it is no longer valid).
    func dropToken() {
        state.withLock { $0.token = nil }
    }

    /// Gets a token, if the configuration names a user and none is held: for streams, which
    /// do not go through ``call(_:idempotent:timeout:_:)``.
    func authenticateIfNeeded() async throws {
        guard configuration.username != nil, state.withLock({ $0.token == nil }) else { return }
        // The call authenticates before its (empty) body, moving between members as calls do.
        try await call("authenticate", idempotent: true) { _, _, _ in }
    }

    /// Exchanges the user and password for a token, on member `index`.
    private func authenticate(on index: Int) async throws {
        guard let username = configuration.username else { return }
        var request = Etcdserverpb_AuthenticateRequest()
        request.name = username
        request.password = configuration.password ?? ""
        var options = CallOptions.defaults
        options.timeout = configuration.requestTimeout
        options.waitForReady = false
        do {
            let response = try await Etcdserverpb_Auth.Client(wrapping: members[index]).authenticate(
                request, options: options)
            state.withLock { $0.token = response.token }
        } catch let error as RPCError {
            switch EtcdFailover.classify(error.code, message: error.message) {
            case .fail(let failure): throw failure
            case .moveOn, .reauthenticate:
                // The member could not answer: the call moves on and authenticates there.
                throw error
            }
        }
    }
}
