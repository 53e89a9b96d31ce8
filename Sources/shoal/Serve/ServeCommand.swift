import ArgumentParser
import Configuration
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import ShoalAdmin
import ShoalCore
import ShoalDiscovery
import ShoalEtcd
import ShoalGateway
import ShoalLock
import ShoalRedis
import UnixSignals

/// `shoal serve`: the gateway, the registry and the admin API, for services in any language.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway, the service registry and its HTTP API.",
        discussion: """
            The gateway listens on --listen and sends each request to an instance of the \
            service its route names (--route, or routes in the file). The registry is in \
            memory unless --redis names a Redis server, which several `shoal serve` \
            processes may share; a redis-sentinel:// URL names the sentinels of a primary, \
            which shoal follows through failovers. --etcd names the members of an etcd \
            cluster instead, which keeps the registry and the locks through its quorum. The admin API (registry, /metrics, /healthz) listens on \
            --admin. With --token every /v1 request, and /metrics, must carry \
            `Authorization: Bearer <token>`; --tokens names a file of tokens, each with only \
            the rights it needs (see shoal token --help). An admin address that is not \
            loopback needs a token, or --insecure. SIGTERM or SIGINT stops accepting, lets requests in flight \
            finish, and exits.

            Every setting can also come from an environment variable or a YAML file named \
            by --config (or SHOAL_CONFIG); the command line wins, then the environment, then \
            the file. The settings, with their variables and keys in the file:
              --admin      SHOAL_ADMIN       admin: 127.0.0.1:8081
              --token      SHOAL_TOKEN       token: …
              --tokens     SHOAL_TOKENS_FILE tokens_file: /etc/shoal/tokens.yaml
              --admin-tls-cert SHOAL_ADMIN_TLS_CERT  admin_tls: {cert: /etc/shoal/admin.pem}
              --admin-tls-key SHOAL_ADMIN_TLS_KEY    admin_tls: {key: /etc/shoal/admin.key}
              --admin-tls-client-ca SHOAL_ADMIN_TLS_CLIENT_CA  admin_tls: {client_ca: /etc/shoal/ops-ca.pem}
              --insecure   SHOAL_INSECURE    insecure: true
              --redis      SHOAL_REDIS_URL   redis: {url: redis://127.0.0.1:6379}
              --redis-ca   SHOAL_REDIS_CA    redis: {ca: /etc/shoal/ca.pem}
              --etcd       SHOAL_ETCD_ENDPOINTS  etcd: {endpoints: "http://10.0.0.1:2379,http://10.0.0.2:2379"}
              --etcd-ca, --etcd-cert, --etcd-key  SHOAL_ETCD_CA, …  etcd: {ca: …, cert: …, key: …}
              --etcd-user, --etcd-password  SHOAL_ETCD_USER, SHOAL_ETCD_PASSWORD  etcd: {user: …, password: …}
              --listen     SHOAL_LISTEN      listen: 127.0.0.1:8080
              --threads    SHOAL_THREADS     threads: 2
              --tls-cert   SHOAL_TLS_CERT    tls: {cert: /etc/shoal/cert.pem}
              --tls-key    SHOAL_TLS_KEY     tls: {key: /etc/shoal/key.pem}
              --tls-dir    SHOAL_TLS_DIR     tls: {dir: /etc/shoal/certs}
              --tls-client-ca SHOAL_TLS_CLIENT_CA  tls: {client_ca: /etc/shoal/clients.pem}
              --access-log SHOAL_ACCESS_LOG  access_log: /var/log/shoal/access.log
              --otlp-endpoint SHOAL_OTLP_ENDPOINT  otlp_endpoint: http://127.0.0.1:4318
            The limits are under `limits:` in the file (SHOAL_LIMITS_… in the environment): \
            header_timeout, max_header_bytes, idle_timeout, max_connections, drain_timeout, \
            drain_idle_grace, \
            tunnel_idle_timeout, max_concurrent_streams (HTTP/2). \
            Routes are under `routes:`, each a name with prefix, service, host, strip_prefix, \
            strategy, timeout, per_try_timeout, retries, max_body_bytes, protocol, retry_grpc_status \
            and allow_encoded_slashes; --route adds more. \
            An unknown key in the file, or a value of the wrong type anywhere, is an error.

            With --tls-cert and --tls-key (PEM files: the certificate chain, then its key), \
            the gateway takes HTTPS (TLS 1.2 and 1.3, ALPN h2 and http/1.1) and sends requests on to \
            instances over plain HTTP with X-Forwarded-Proto: https. With --tls-dir, each \
            NAME.pem (or NAME.crt) there, with its key in NAME.key or in the same file, serves the \
            DNS names of its subjectAlternativeName (*.example.com for one label) to clients that ask for them \
            in the TLS hello (SNI); an exact name wins over a wildcard, and other clients get \
            --tls-cert (or, without it, the directory's first certificate). With \
            --tls-client-ca, a client must present a certificate that chains to one of the CA \
            certificates in that PEM file (mutual TLS), or the handshake fails; instances get \
            X-Forwarded-Client-Cert (Hash, Subject, URI and DNS, as Envoy writes it) in place \
            of any the client sent. SIGHUP reads the files again, for new connections.

            The access log has one JSON line for each request, written when its response \
            ends: time, request_id, client, method, host, target, protocol, status, route, \
            upstream, tries, request_bytes, response_bytes, duration_ms, upstream_ms, user_agent and \
            error. --access-log - writes it to standard output. Lines are written at least \
            every second, and when the gateway stops. The file is appended to; after moving \
            it away, send SIGUSR1 and the log goes on in a new file at the path.

            With --otlp-endpoint, each routed request has a server span that continues the \
            client's trace (W3C traceparent), exported in batches over OTLP/HTTP to the \
            collector's /v1/traces, as service "shoal". The standard OTEL_* variables \
            (OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, OTEL_EXPORTER_OTLP_HEADERS, \
            OTEL_BSP_SCHEDULE_DELAY …) apply on top. Without it, trace headers reach the \
            instance as the client sent them.

            Under systemd with Type=notify (NOTIFY_SOCKET set), it says READY=1 once both \
            listeners are up, RELOADING=1 and READY=1 around SIGHUP, and STOPPING=1 when it \
            starts draining.

            Exit codes: 0 stopped by a signal, 1 failed while running (say the admin port \
            is taken), 2 bad usage or a bad setting (also an access log that cannot be \
            opened, and TLS files that do not load or do not match).
            """
    )

    @Option(help: "Where the admin API listens, HOST:PORT (default: \(ServeSettings.defaultAdmin)).")
    var admin: String?

    /// Where the registry is kept; in memory when no Redis server or etcd cluster is named.
    @OptionGroup var redisOptions: RedisOptions

    @OptionGroup var etcdOptions: EtcdOptions

    @Option(help: "Require this bearer token on /v1 requests. Default: $SHOAL_TOKEN.")
    var token: String?

    @Option(
        name: .customLong("tokens"),
        help: "A YAML file of named tokens, each with its rights (see shoal token). Default: $SHOAL_TOKENS_FILE.")
    var tokensFile: String?

    @Option(
        name: .customLong("admin-tls-cert"), help: "Serve the admin API over HTTPS with this certificate chain (PEM).")
    var adminTLSCertificate: String?

    @Option(name: .customLong("admin-tls-key"), help: "The private key of --admin-tls-cert (PEM).")
    var adminTLSKey: String?

    @Option(
        name: .customLong("admin-tls-client-ca"),
        help: "Require admin clients to present a certificate from these CAs (PEM): mutual TLS.")
    var adminTLSClientCA: String?

    @Flag(help: "Allow a non-loopback admin address without a token or mutual TLS.")
    var insecure = false

    @Option(help: "Where the gateway listens, HOST:PORT (default: \(ServeSettings.defaultListen)).")
    var listen: String?

    @Option(
        name: .customLong("route"),
        help:
            "Route requests under a path prefix (and for a host, if given) to a service: [HOST]PREFIX=SERVICE. Repeat for more."
    )
    var routes: [String] = []

    @Option(help: "The gateway's event-loop threads (default: one per core).")
    var threads: Int?

    @Option(name: .customLong("tls-cert"), help: "Take HTTPS with this certificate chain (a PEM file).")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "The private key of --tls-cert (a PEM file).")
    var tlsKey: String?

    @Option(
        name: .customLong("tls-dir"),
        help:
            "A directory of NAME.pem files (key in NAME.key or in the file), each served to clients asking for its names (SNI)."
    )
    var tlsDirectory: String?

    @Option(
        name: .customLong("tls-client-ca"),
        help: "Require client certificates that chain to a CA in this PEM file (mutual TLS).")
    var tlsClientCA: String?

    @Option(
        name: .customLong("access-log"),
        help: "Write a JSON line for each request to this file, or to standard output with '-' (default: none).")
    var accessLog: String?

    @Option(
        name: .customLong("otlp-endpoint"),
        help: "Export a span for each routed request to this OpenTelemetry collector, over OTLP/HTTP (default: none).")
    var otlpEndpoint: String?

    @Option(help: "A YAML file of settings (default: $SHOAL_CONFIG).")
    var config: String?

    @Flag(
        help:
            "Check the settings, the TLS files and the access log, print what would run, and exit without listening (0: good, 2: not)."
    )
    var check = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let settings = try await ServeSettings.load(
            flags: flagValues(), routeFlags: routes, configFile: config ?? environment["SHOAL_CONFIG"],
            environment: environment)
        let (host, port) = try Self.address(settings.admin, .admin)
        let (gatewayHost, gatewayPort) = try Self.address(settings.listen, .listen)
        let token = settings.token
        if token?.isEmpty == true { throw UsageError("the token must not be empty (\(ServeSetting.token.sources))") }
        let fileTokens = try settings.tokensFile.map(TokensFile.load) ?? []
        let tokens = AdminTokens(single: token, file: fileTokens, required: token != nil || settings.tokensFile != nil)
        let adminTLS = try AdminTLS.isConfigured(settings) ? try AdminTLS(settings) : nil
        let mutualTLS = adminTLS != nil && settings.adminTLSClientCA != nil
        if !tokens.required && !mutualTLS && !settings.insecure && !Self.isLoopback(host) {
            throw UsageError(
                "--admin \(settings.admin) is not a loopback address: give --token (or SHOAL_TOKEN), --tokens, or mutual TLS (--admin-tls-client-ca) so the registry API is not open to the network, or --insecure to allow it"
            )
        }
        let registry: any ServiceRegistry & ServiceDiscovery & Service
        let locks: any DistributedLock & LockListing
        var redisLocks: RedisLock?
        var etcd: EtcdClient?
        let backend: String
        if let endpoints = settings.etcdEndpoints {
            if settings.redisURL != nil {
                throw UsageError("--etcd and --redis both name where to keep the registry and locks: give one")
            }
            let configuration = try EtcdOptions.configuration(
                endpoints: endpoints, ca: settings.etcdCA, certificate: settings.etcdCertificate, key: settings.etcdKey,
                user: settings.etcdUser, password: settings.etcdPassword)
            let client: EtcdClient
            do {
                client = try EtcdClient(configuration)
            } catch {
                throw UsageError("--etcd: \(error.message)")
            }
            etcd = client
            registry = EtcdRegistry(client: client)
            locks = EtcdLock(client: client)
            backend = "etcd"
        } else if let url = settings.redisURL {
            let redis = try RedisOptions.configuration(url: url, ca: settings.redisCA)
            // Registrations accepted here are put back if Redis loses them (anti-entropy).
            registry = ReassertingRegistry(RedisRegistry(configuration: redis))
            redisLocks = RedisLock(configuration: redis)
            locks = redisLocks!
            backend = "Redis"
        } else {
            if settings.redisCA != nil {
                throw UsageError("--redis-ca needs a rediss:// (or rediss-sentinel://) URL in --redis")
            }
            if settings.etcdCA != nil || settings.etcdCertificate != nil || settings.etcdKey != nil
                || settings.etcdUser != nil || settings.etcdPassword != nil
            {
                throw UsageError(
                    "the etcd settings (--etcd-ca, --etcd-cert, --etcd-key, --etcd-user, --etcd-password) go with --etcd"
                )
            }
            registry = EmbeddedRegistry()
            locks = EmbeddedLock()
            backend = "memory"
        }
        let tls = try ServeTLS.configuration(settings)
        let tracing = try settings.otlpEndpoint.map { endpoint throws(UsageError) in
            try ServeTracing.backend(endpoint: endpoint)
        }
        let gateway: Gateway
        do throws(GatewayConfigurationError) {
            var configuration = try GatewayConfiguration(
                host: gatewayHost, port: gatewayPort, threads: settings.threads,
                routes: try RouteTable(settings.routes),
                limits: settings.limits,
                accessLog: settings.accessLog.map { .init($0 == "-" ? .standardOutput : .file($0)) }, tls: tls)
            // With client certificates required, instances hear whose each request is.
            if settings.tlsClientCA != nil { configuration.describeClientCertificate = ClientCertificateField.describe }
            gateway = Gateway(configuration: configuration, discovery: registry, tracer: tracing?.tracer)
        } catch {
            throw UsageError("\(error.message)")
        }
        if check {
            do {
                try gateway.check()
            } catch {
                await redisLocks?.close()
                throw Self.settingError(error) ?? UsageError("the gateway \(error)")
            }
            await redisLocks?.close()
            print(
                Self.summary(
                    settings, tls: tls != nil, adminTLS: adminTLS != nil,
                    state: backend))
            return
        }
        let checker = HealthChecker(registry: registry)
        let router = AdminRouter.make(
            registry: registry, checker: checker, locks: locks, gateway: gateway, tokens: tokens)
        var logger = Logger(label: "shoal")
        logger.logLevel = .warning
        let adminScheme = adminTLS == nil ? "http" : "https"
        let notifier = SystemdNotifier(environment: environment)
        if let problem = notifier.problem { StandardError.write("shoal: \(problem); not telling systemd\n") }
        let (adminListening, adminListened) = AsyncStream<String>.makeStream()
        let application = Application(
            router: router, server: adminTLS.map(AdminTLSChannel<HTTP1Channel>.server) ?? .http1(),
            configuration: .init(address: .hostname(host, port: port), serverName: "shoal"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port.map(String.init) ?? String(port)
                StandardError.write(
                    "shoal: registry API on \(adminScheme)://\(host):\(bound) (state in \(backend))\n"
                        + "shoal: dashboard on \(adminScheme)://\(host):\(bound)/dashboard\n")
                adminListened.yield("\(adminScheme)://\(host):\(bound)")
            }, logger: logger)
        // Stopped in reverse order: the exporter goes last, with the gateway's last spans. A
        // service that fails (a listener that cannot bind) stops the others gracefully, so
        // they do not log their cancellation as errors.
        // The Redis lock service runs too: with sentinels, it follows failovers at once.
        let routes = settings.routes.count == 1 ? "1 route" : "\(settings.routes.count) routes"
        let threads = settings.threads == 1 ? "1 thread" : "\(settings.threads) threads"
        let scheme = tls == nil ? "http" : "https"
        let announcement = GatewayAnnouncement(gateway: gateway) { bound in
            "shoal: gateway on \(scheme)://\(gatewayHost):\(bound) (\(routes), \(threads))\n"
        }
        let services: [any Service] =
            (tracing.map { [$0.service] } ?? []) + (redisLocks.map { [$0] } ?? []) + (etcd.map { [$0] } ?? [])
            + [
                registry, checker, gateway, application,
                ServeSignals(
                    gateway: gateway, tokens: tokens, adminTLS: adminTLS, settings: settings, notifier: notifier),
            ]
        let readiness = ServeReadiness(
            notifier: notifier, gateway: gateway, adminListening: adminListening,
            gatewayAddress: { "\(scheme)://\(gatewayHost):\($0)" })
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map { .init(service: $0, failureTerminationBehavior: .gracefullyShutdownGroup) }
                    + [
                        .init(service: announcement, successTerminationBehavior: .ignore),
                        .init(service: readiness, successTerminationBehavior: .ignore),
                    ],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        // Every service closes what it opened when its run() ends, the Redis locks included.
        do {
            try await group.run()
        } catch let error as GatewayListenError {
            throw RuntimeFailure("the gateway \(error) (--listen); choose another address")
        } catch {
            if let usage = Self.settingError(error) { throw usage }
            // The gateway names itself; an address error from elsewhere is the admin listener's.
            if let error = error as? IOError, [EADDRINUSE, EADDRNOTAVAIL, EACCES].contains(error.errnoCode) {
                throw RuntimeFailure(
                    "the admin API cannot listen on \(host):\(port) (--admin): \(error); choose another address")
            }
            throw RuntimeFailure("serve stopped: \(error)")
        }
    }

    /// The settings given as flags; the others come from the environment or the file.
    private func flagValues() -> [ServeSetting: ConfigValue] {
        var values: [ServeSetting: ConfigValue] = [:]
        func set(_ setting: ServeSetting, _ value: String?, secret: Bool = false) {
            if let value { values[setting] = ConfigValue(.string(value), isSecret: secret) }
        }
        set(.admin, admin)
        set(.token, token, secret: true)
        set(.tokensFile, tokensFile)
        set(.adminTLSCertificate, adminTLSCertificate)
        set(.adminTLSKey, adminTLSKey)
        set(.adminTLSClientCA, adminTLSClientCA)
        set(.redisURL, redisOptions.redis, secret: true)
        set(.redisCA, redisOptions.redisCA)
        set(.etcdEndpoints, etcdOptions.etcd)
        set(.etcdCA, etcdOptions.etcdCA)
        set(.etcdCertificate, etcdOptions.etcdCertificate)
        set(.etcdKey, etcdOptions.etcdKey)
        set(.etcdUser, etcdOptions.etcdUser)
        set(.etcdPassword, etcdOptions.etcdPassword, secret: true)
        set(.listen, listen)
        set(.tlsCertificate, tlsCertificate)
        set(.tlsKey, tlsKey)
        set(.tlsDirectory, tlsDirectory)
        set(.tlsClientCA, tlsClientCA)
        set(.accessLog, accessLog)
        set(.otlpEndpoint, otlpEndpoint)
        if let threads { values[.threads] = ConfigValue(.int(threads), isSecret: false) }
        if insecure { values[.insecure] = ConfigValue(.bool(true), isSecret: false) }
        return values
    }

    private static func address(_ admin: String, _ setting: ServeSetting) throws(UsageError) -> (String, Int) {
        guard let colon = admin.lastIndex(of: ":"), let port = Int(admin[admin.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            throw UsageError(
                "the \(setting.summary) must be HOST:PORT, such as 127.0.0.1:8081, not '\(admin)' (\(setting.sources))")
        }
        var host = String(admin[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else {
            throw UsageError("the \(setting.summary) must name a host, such as 127.0.0.1:8081 (\(setting.sources))")
        }
        return (host, port)
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
