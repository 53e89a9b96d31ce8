import Foundation
import Yams

/// Checks the shape of a YAML config file before its values are read: a mapping at the top
/// and only known keys. swift-configuration looks keys up and never lists them, so without
/// this a misspelt key would be ignored without a word; and the names of entries in a group
/// (the routes) come from here.
enum ConfigFileCheck {
    /// Returns the file's keys, dotted; throws a `UsageError` naming the file and the first
    /// problem: unreadable, not YAML, not a mapping, or a key that is not in `known` (dotted,
    /// `redis.url`; a `*` stands for any one name, as in `routes.*.prefix`).
    @discardableResult
    static func check(path: String, known: Set<String>) throws(UsageError) -> [String] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw UsageError("--config: cannot read '\(path)': \(error.localizedDescription)")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            // Yams's message ends with the offending line and a caret under it: keep the words.
            let words = String(describing: error).split(separator: "\n").prefix(2).joined(separator: " ")
            throw UsageError("--config: '\(path)' is not valid YAML: \(words)")
        }
        guard let root else { return [] }  // an empty file sets nothing
        guard case .mapping(let mapping) = root else {
            throw UsageError("--config: '\(path)' must be a mapping of settings, such as 'admin: 127.0.0.1:8081'")
        }
        var keys: [String] = []
        try checkKeys(of: mapping, prefix: "", path: path, known: known, into: &keys)
        return keys
    }

    private static func isKnown(_ key: String, _ known: Set<String>) -> Bool {
        if known.contains(key) { return true }
        let parts = key.split(separator: ".")
        return known.contains { pattern in
            let expected = pattern.split(separator: ".")
            return expected.count == parts.count && zip(expected, parts).allSatisfy { $0 == "*" || $0 == $1 }
        }
    }

    private static func checkKeys(
        of mapping: Node.Mapping, prefix: String, path: String, known: Set<String>, into keys: inout [String]
    ) throws(UsageError) {
        for (keyNode, value) in mapping {
            guard let name = keyNode.string, !name.isEmpty, !name.contains(".") else {
                throw UsageError("--config: '\(path)' has a key that is not a plain name: \(keyNode)")
            }
            let key = prefix + name
            if case .mapping(let inner) = value, !isKnown(key, known) {
                try checkKeys(of: inner, prefix: key + ".", path: path, known: known, into: &keys)
            } else if isKnown(key, known) {
                keys.append(key)
            } else {
                let line = keyNode.mark.map { " (line \($0.line))" } ?? ""
                throw UsageError(
                    "--config: unknown setting '\(key)' in '\(path)'\(line); the settings are \(known.sorted().joined(separator: ", "))"
                )
            }
        }
    }
}
