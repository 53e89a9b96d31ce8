import Configuration
import SystemPackage

/// What `shoal serve` runs with. Each value comes from the first of these that gives it:
/// the command line, a `SHOAL_*` environment variable, the YAML file named by `--config` (or
/// `SHOAL_CONFIG`), and the default.
struct ServeSettings: Sendable {
    var admin: String
    var token: String?
    var insecure: Bool
    var redisURL: String?
    var redisCA: String?
    var listen: String?

    /// The defaults, where a setting has one.
    static let defaultAdmin = "127.0.0.1:8081"

    /// Reads the settings.
    ///
    /// - Parameters:
    ///   - flags: The values given on the command line, by setting.
    ///   - configFile: The YAML file, if any.
    ///   - environment: The process's environment.
    /// - Throws: `UsageError` for an unreadable or malformed file, an unknown key in it, or a
    ///   value of the wrong type anywhere, naming where it came from.
    static func load(
        flags: [ServeSetting: ConfigValue], configFile: String?, environment: [String: String]
    ) async throws(UsageError) -> ServeSettings {
        var providers: [any ConfigProvider] = [
            InMemoryProvider(
                name: "flags",
                values: Dictionary(uniqueKeysWithValues: flags.map { (AbsoluteConfigKey($0.key.key.split(separator: ".").map(String.init)), $0.value) })),
            EnvironmentVariablesProvider(
                environmentVariables: environment,
                secretsSpecifier: .specific([ServeSetting.token.environmentVariable])
            ).prefixKeys(with: "shoal"),
        ]
        if let configFile {
            try ConfigFileCheck.check(path: configFile, known: Set(ServeSetting.all.map(\.key)))
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
        let settings = ServeSettings(
            admin: reader.string(forKey: ConfigKey(ServeSetting.admin.key), default: defaultAdmin),
            token: reader.string(forKey: ConfigKey(ServeSetting.token.key), isSecret: true),
            insecure: reader.bool(forKey: ConfigKey(ServeSetting.insecure.key), default: false),
            redisURL: reader.string(forKey: ConfigKey(ServeSetting.redisURL.key), isSecret: true),
            redisCA: reader.string(forKey: ConfigKey(ServeSetting.redisCA.key)),
            listen: reader.string(forKey: ConfigKey(ServeSetting.listen.key)))
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
