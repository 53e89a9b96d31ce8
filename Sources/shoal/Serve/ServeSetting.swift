/// One setting of `shoal serve`: its key in the YAML file, and the flag and environment
/// variable that override it.
///
/// The key is dotted (`redis.url` is `url:` under `redis:` in YAML); the environment variable
/// is `SHOAL_` and the key in upper case with `_` for `.` (`SHOAL_REDIS_URL`).
struct ServeSetting: Sendable, Hashable {
    /// The key, dotted: `admin`, `redis.url`.
    let key: String
    /// The flag that sets it, with its dashes.
    let flag: String
    /// What it means, for error messages and `--help`.
    let summary: String

    /// The environment variable that sets it.
    var environmentVariable: String {
        "SHOAL_" + key.uppercased().replacing(".", with: "_")
    }

    /// "--flag, SHOAL_VAR or `key:` in the config file", for messages.
    var sources: String {
        (flag.isEmpty ? "" : "\(flag), ") + "\(environmentVariable) or '\(key)' in the config file"
    }

    static let admin = ServeSetting(key: "admin", flag: "--admin", summary: "admin address")
    static let token = ServeSetting(key: "token", flag: "--token", summary: "the bearer token /v1 requests need")
    static let tokensFile = ServeSetting(
        key: "tokens_file", flag: "--tokens", summary: "a YAML file of named tokens and their rights")
    static let adminTLSCertificate = ServeSetting(
        key: "admin_tls.cert", flag: "--admin-tls-cert", summary: "the admin API's TLS certificate chain (PEM)")
    static let adminTLSKey = ServeSetting(
        key: "admin_tls.key", flag: "--admin-tls-key", summary: "the admin API's TLS private key (PEM)")
    static let adminTLSClientCA = ServeSetting(
        key: "admin_tls.client_ca", flag: "--admin-tls-client-ca",
        summary: "CA certificates the admin API's clients must present one of (PEM)")
    static let insecure = ServeSetting(
        key: "insecure", flag: "--insecure", summary: "allow a non-loopback admin address without a token")
    static let redisURL = ServeSetting(key: "redis.url", flag: "--redis", summary: "the Redis server")
    static let redisCA = ServeSetting(key: "redis.ca", flag: "--redis-ca", summary: "CA certificates for rediss://")
    static let etcdEndpoints = ServeSetting(
        key: "etcd.endpoints", flag: "--etcd", summary: "the etcd cluster's members, comma-separated")
    static let etcdCA = ServeSetting(
        key: "etcd.ca", flag: "--etcd-ca", summary: "CA certificates for https:// etcd members")
    static let etcdCertificate = ServeSetting(
        key: "etcd.cert", flag: "--etcd-cert", summary: "the client certificate chain for etcd (PEM)")
    static let etcdKey = ServeSetting(
        key: "etcd.key", flag: "--etcd-key", summary: "the private key of etcd.cert (PEM)")
    static let etcdUser = ServeSetting(key: "etcd.user", flag: "--etcd-user", summary: "etcd's user name")
    static let etcdPassword = ServeSetting(key: "etcd.password", flag: "--etcd-password", summary: "etcd's password")
    static let listen = ServeSetting(key: "listen", flag: "--listen", summary: "gateway address")
    static let threads = ServeSetting(key: "threads", flag: "--threads", summary: "the gateway's event-loop threads")
    static let accessLog = ServeSetting(
        key: "access_log", flag: "--access-log", summary: "where the gateway's access log goes")
    static let tlsCertificate = ServeSetting(
        key: "tls.cert", flag: "--tls-cert", summary: "the gateway's TLS certificate chain (PEM)")
    static let tlsKey = ServeSetting(key: "tls.key", flag: "--tls-key", summary: "the gateway's TLS private key (PEM)")
    static let tlsClientCA = ServeSetting(
        key: "tls.client_ca", flag: "--tls-client-ca", summary: "CA certificates clients must present one of (PEM)")
    static let tlsDirectory = ServeSetting(
        key: "tls.dir", flag: "--tls-dir", summary: "certificates chosen by SNI: NAME.pem with its key")
    static let otlpEndpoint = ServeSetting(
        key: "otlp_endpoint", flag: "--otlp-endpoint", summary: "the OpenTelemetry collector that gets request spans")
    static let maxHeaderBytes = ServeSetting(
        key: "limits.max_header_bytes", flag: "", summary: "the most bytes of a request head (431 above)")
    static let headerTimeout = ServeSetting(
        key: "limits.header_timeout", flag: "", summary: "how long a request head may take (408 after)")
    static let idleTimeout = ServeSetting(
        key: "limits.idle_timeout", flag: "", summary: "how long a keep-alive connection may idle")
    static let maxConnections = ServeSetting(
        key: "limits.max_connections", flag: "", summary: "the most client connections at once")
    static let tunnelIdleTimeout = ServeSetting(
        key: "limits.tunnel_idle_timeout", flag: "", summary: "how long a WebSocket tunnel may carry nothing")
    static let drainTimeout = ServeSetting(
        key: "limits.drain_timeout", flag: "", summary: "how long a graceful stop waits for requests")
    static let drainIdleGrace = ServeSetting(
        key: "limits.drain_idle_grace", flag: "",
        summary: "how long a connection between requests stays open once a graceful stop begins")
    static let sendTimeout = ServeSetting(
        key: "limits.send_timeout", flag: "",
        summary: "how long a response may wait on a client that reads none of it")
    static let maxConcurrentStreams = ServeSetting(
        key: "limits.max_concurrent_streams", flag: "",
        summary: "the most HTTP/2 streams a client may have open at once on a connection")

    /// Every setting `shoal serve` reads, but the routes'.
    static let all: [ServeSetting] = [
        admin, token, tokensFile, adminTLSCertificate, adminTLSKey, adminTLSClientCA, insecure, redisURL, redisCA,
        etcdEndpoints, etcdCA, etcdCertificate, etcdKey, etcdUser, etcdPassword, listen, threads, tlsCertificate,
        tlsKey, tlsDirectory, tlsClientCA,
        accessLog,
        otlpEndpoint,
        maxHeaderBytes, headerTimeout,
        idleTimeout,
        maxConnections, drainTimeout, drainIdleGrace, tunnelIdleTimeout, maxConcurrentStreams, sendTimeout,
    ]

    /// The keys of one route in the file, under `routes.NAME.`.
    static let routeFields = [
        "prefix", "service", "host", "strip_prefix", "strategy", "timeout", "per_try_timeout", "retries",
        "max_body_bytes", "protocol", "retry_grpc_status", "allow_encoded_slashes",
    ]

    /// Every key the file may have; `*` is a route's name.
    static var fileKeys: Set<String> {
        Set(all.map(\.key) + routeFields.map { "routes.*.\($0)" })
    }
}
