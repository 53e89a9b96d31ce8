import Configuration
import Synchronization

/// Collects what swift-configuration would otherwise only report and then ignore: a value
/// that does not convert to the type asked for (a `ConfigReader` falls back to the default),
/// or a provider that failed. `shoal` turns the first one into a usage error.
final class ConfigErrorCollector: AccessReporter {
    /// Where a bad value came from.
    enum Source: Sendable {
        case commandLine, environment, file
    }

    /// One bad value.
    struct Problem: Sendable {
        /// The dotted key, `redis.url`.
        let key: String
        let source: Source
        /// What is wrong: "is not a boolean (true or false)".
        let detail: String
    }

    private let found = Mutex<[Problem]>([])

    /// What went wrong, in the order the settings were read.
    var problems: [Problem] { found.withLock { $0 } }

    func report(_ event: AccessEvent) {
        let key = event.metadata.key.components.joined(separator: ".")
        let expected = "is not \(Self.typeName(event.metadata.valueType))"
        var problems: [Problem] = []
        for result in event.providerResults {
            guard case .failure(let error) = result.result else { continue }
            // The library's ConfigError is package-internal: its text is all there is to read.
            let conversion = "\(error)".contains("failed to convert")
            problems.append(
                Problem(key: key, source: Self.source(result.providerName), detail: conversion ? expected : "\(error)"))
        }
        if event.conversionError != nil, problems.isEmpty,
            let result = event.providerResults.first(where: { (try? $0.result.get().value) != nil })
        {
            problems.append(Problem(key: key, source: Self.source(result.providerName), detail: expected))
        }
        if !problems.isEmpty { found.withLock { $0.append(contentsOf: problems) } }
    }

    private static func source(_ providerName: String) -> Source {
        if providerName.contains("Environment") { return .environment }
        if providerName.contains("InMemory") { return .commandLine }
        return .file
    }

    private static func typeName(_ type: ConfigType) -> String {
        switch type {
        case .bool: "a boolean (true or false)"
        case .int: "a whole number"
        case .double: "a number"
        case .string: "a string"
        default: "of type \(type)"
        }
    }
}
