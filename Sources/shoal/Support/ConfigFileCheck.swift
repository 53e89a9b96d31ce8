import Foundation
import Yams

/// Checks the shape of a YAML config file before its values are read: a mapping at the top
/// and only known keys. swift-configuration looks keys up and never lists them, so without
/// this a misspelt key would be ignored without a word.
enum ConfigFileCheck {
    /// Throws a `UsageError` naming the file and the first problem: unreadable, not YAML, not
    /// a mapping, or a key that is not in `known` (dotted, `redis.url`).
    static func check(path: String, known: Set<String>) throws(UsageError) {
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
        guard let root else { return }  // an empty file sets nothing
        guard case .mapping(let mapping) = root else {
            throw UsageError("--config: '\(path)' must be a mapping of settings, such as 'admin: 127.0.0.1:8081'")
        }
        try checkKeys(of: mapping, prefix: "", path: path, known: known)
    }

    private static func checkKeys(of mapping: Node.Mapping, prefix: String, path: String, known: Set<String>)
        throws(UsageError)
    {
        for (keyNode, value) in mapping {
            guard let name = keyNode.string, !name.isEmpty, !name.contains(".") else {
                throw UsageError("--config: '\(path)' has a key that is not a plain name: \(keyNode)")
            }
            let key = prefix + name
            if case .mapping(let inner) = value, !known.contains(key) {
                try checkKeys(of: inner, prefix: key + ".", path: path, known: known)
            } else if !known.contains(key) {
                let line = keyNode.mark.map { " (line \($0.line))" } ?? ""
                throw UsageError(
                    "--config: unknown setting '\(key)' in '\(path)'\(line); the settings are \(known.sorted().joined(separator: ", "))"
                )
            }
        }
    }
}
