import Configuration
import ShoalBalancing
import ShoalGateway
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// What `shoal serve` runs with. Each value comes from the first of these that gives it:
/// the command line, a `SHOAL_*` environment variable, the YAML file named by `--config` (or
/// `SHOAL_CONFIG`), and the default. Routes are the file's plus those of `--route`.
struct ServeSettings: Sendable {
    var admin: String
    var token: String?
    /// A YAML file of named tokens, each with its rights (``TokensFile``).
    var tokensFile: String?
    /// The admin listener's TLS certificate chain and key (PEM); plain HTTP when `nil`.
    var adminTLSCertificate: String?
    var adminTLSKey: String?
    /// CA certificates an admin client's certificate must chain to (mutual TLS).
    var adminTLSClientCA: String?
    var insecure: Bool
    var redisURL: String?
    var redisCA: String?
    /// The etcd cluster's members, comma-separated, and how to reach them.
    var etcdEndpoints: String?
    var etcdCA: String?
    var etcdCertificate: String?
    var etcdKey: String?
    var etcdUser: String?
    var etcdPassword: String?
    var listen: String
    var threads: Int
    /// The PEM files of the gateway's TLS certificate chain and key; plain HTTP when `nil`.
    var tlsCertificate: String?
    var tlsKey: String?
    /// A directory of more certificates, chosen by the name a client asks for (SNI).
    var tlsDirectory: String?
    /// CA certificates a client's certificate must chain to (mutual TLS); none asked when `nil`.
    var tlsClientCA: String?
    /// Where the access log goes: a path, or `-` for standard output; none when `nil`.
    var accessLog: String?
    /// The OpenTelemetry collector's base URL; no spans are made when `nil`.
    var otlpEndpoint: String?
    var routes: [GatewayRoute]
    var limits: GatewayConfiguration.Limits

    /// The defaults, where a setting has one.
    static let defaultAdmin = "127.0.0.1:8081"
    static let defaultListen = "127.0.0.1:8080"
    static var defaultThreads: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Reads the settings.
    ///
    /// - Parameters:
    ///   - flags: The values given on the command line, by setting.
    ///   - routeFlags: The `--route` values.
    ///   - configFile: The YAML file, if any.
    ///   - environment: The process's environment.
    /// - Throws: `UsageError` for an unreadable or malformed file, an unknown key in it, or a
    ///   value of the wrong type anywhere, naming where it came from.
    static func load(
        flags: [ServeSetting: ConfigValue], routeFlags: [String] = [], configFile: String?,
        environment: [String: String]
    ) async throws(UsageError) -> ServeSettings {
        var providers: [any ConfigProvider] = [
            InMemoryProvider(
                name: "flags",
                values: Dictionary(
                    uniqueKeysWithValues: flags.map {
                        (AbsoluteConfigKey($0.key.key.split(separator: ".").map(String.init)), $0.value)
                    })),
            EnvironmentVariablesProvider(
                environmentVariables: environment,
                secretsSpecifier: .specific([ServeSetting.token.environmentVariable])
            ).prefixKeys(with: "shoal"),
        ]
        var fileKeys: [String] = []
        if let configFile {
            fileKeys = try ConfigFileCheck.check(path: configFile, known: ServeSetting.fileKeys)
            do {
                providers.append(
                    try await FileProvider<YAMLSnapshot>(
                        parsingOptions: .init(secretsSpecifier: .specific([ServeSetting.token.key])),
                        filePath: FilePath(configFile)))
            } catch {
                throw UsageError("--config: '\(configFile)' cannot be used: \(error)")
            }
        }
        let errors = ConfigErrorCollector()
        let reader = ConfigReader(providers: providers, accessReporter: errors)
        func string(_ setting: ServeSetting, secret: Bool = false) -> String? {
            reader.string(forKey: ConfigKey(setting.key), isSecret: secret)
        }
        func duration(_ setting: ServeSetting, _ fallback: Duration, zeroAllowed: Bool = false) throws(UsageError)
            -> Duration
        {
            guard let text = string(setting) else { return fallback }
            guard let value = Duration(parsing: text), value > .zero || (zeroAllowed && value == .zero) else {
                throw UsageError(
                    "\(setting.sources) must be a duration such as 10s\(zeroAllowed ? " (or 0s)" : ""), not '\(text)'")
            }
            return value
        }
        let defaults = GatewayConfiguration.Limits()
        let streams = reader.int(
            forKey: ConfigKey(ServeSetting.maxConcurrentStreams.key), default: defaults.maxConcurrentStreams)
        guard (1...Int(Int32.max)).contains(streams) else {
            throw UsageError(
                "\(ServeSetting.maxConcurrentStreams.sources) must be a number from 1 to 2147483647, not \(streams)")
        }
        let limits = GatewayConfiguration.Limits(
            maxHeaderBytes: reader.int(
                forKey: ConfigKey(ServeSetting.maxHeaderBytes.key), default: defaults.maxHeaderBytes),
            headerTimeout: try duration(.headerTimeout, defaults.headerTimeout),
            idleTimeout: try duration(.idleTimeout, defaults.idleTimeout),
            maxConnections: reader.int(
                forKey: ConfigKey(ServeSetting.maxConnections.key), default: defaults.maxConnections),
            drainTimeout: try duration(.drainTimeout, defaults.drainTimeout),
            tunnelIdleTimeout: try duration(.tunnelIdleTimeout, defaults.tunnelIdleTimeout),
            maxConcurrentStreams: streams, sendTimeout: try duration(.sendTimeout, defaults.sendTimeout),
            drainIdleGrace: try duration(.drainIdleGrace, defaults.drainIdleGrace, zeroAllowed: true))
        let routeNames = Set(
            fileKeys.compactMap { key -> String? in
                let parts = key.split(separator: ".")
                return parts.count == 3 && parts[0] == "routes" ? String(parts[1]) : nil
            })
        var routes: [GatewayRoute] = []
        for name in routeNames.sorted() {
            routes.append(try RouteSettings.route(named: name, from: reader.scoped(to: ConfigKey(["routes", name]))))
        }
        for flag in routeFlags { routes.append(try RouteSettings.route(flag: flag)) }
        let settings = ServeSettings(
            admin: string(.admin) ?? defaultAdmin,
            token: string(.token, secret: true),
            tokensFile: string(.tokensFile),
            adminTLSCertificate: string(.adminTLSCertificate),
            adminTLSKey: string(.adminTLSKey),
            adminTLSClientCA: string(.adminTLSClientCA),
            insecure: reader.bool(forKey: ConfigKey(ServeSetting.insecure.key), default: false),
            redisURL: string(.redisURL, secret: true),
            redisCA: string(.redisCA),
            etcdEndpoints: string(.etcdEndpoints),
            etcdCA: string(.etcdCA),
            etcdCertificate: string(.etcdCertificate),
            etcdKey: string(.etcdKey),
            etcdUser: string(.etcdUser),
            etcdPassword: string(.etcdPassword, secret: true),
            listen: string(.listen) ?? defaultListen,
            threads: reader.int(forKey: ConfigKey(ServeSetting.threads.key), default: defaultThreads),
            tlsCertificate: string(.tlsCertificate),
            tlsKey: string(.tlsKey),
            tlsDirectory: string(.tlsDirectory),
            tlsClientCA: string(.tlsClientCA),
            accessLog: string(.accessLog),
            otlpEndpoint: string(.otlpEndpoint),
            routes: routes,
            limits: limits)
        if let problem = errors.problems.first { throw UsageError(message(for: problem, configFile: configFile)) }
        return settings
    }

    private static func message(for problem: ConfigErrorCollector.Problem, configFile: String?) -> String {
        let setting = ServeSetting.all.first { $0.key == problem.key }
        let place =
            switch problem.source {
            case .commandLine: setting?.flag ?? problem.key
            case .environment: setting?.environmentVariable ?? problem.key
            case .file: "'\(problem.key)' in '\(configFile ?? "the config file")'"
            }
        return "\(place) \(problem.detail)"
    }
}
