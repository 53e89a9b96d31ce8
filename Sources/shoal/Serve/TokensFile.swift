import Foundation
import ShoalAdmin
import Yams

/// A tokens file (`--tokens FILE`): named tokens of the admin API, each stored as the SHA-256
/// of the token in hex (as `shoal token hash` prints it), with its rights.
///
/// ```yaml
/// tokens:
///   - name: payments-deployer
///     sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
///     rights: [read, "register:payments*", "lock:payments-*"]
/// ```
enum TokensFile {
    /// Reads and checks the file at `path`.
    ///
    /// - Throws: `UsageError` naming the file and what is wrong: it cannot be read, it is not
    ///   YAML of this shape, a name repeats, a hash is not 64 hex digits, or a right is unknown.
    static func load(_ path: String) throws(UsageError) -> [AdminToken] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw UsageError("the tokens file '\(path)' cannot be read: \(error.localizedDescription)")
        }
        return try parse(text, file: path)
    }

    static func parse(_ text: String, file: String) throws(UsageError) -> [AdminToken] {
        func fail(_ problem: String) -> UsageError {
            UsageError("the tokens file '\(file)' \(problem) (see shoal token --help)")
        }
        let root: Any?
        do {
            root = try Yams.load(yaml: text)
        } catch {
            throw fail("is not YAML: \(error)")
        }
        guard let top = root as? [String: Any], Set(top.keys) == ["tokens"], let list = top["tokens"] as? [Any] else {
            throw fail("must hold one key, tokens:, with a list of tokens")
        }
        var tokens: [AdminToken] = []
        for (index, item) in list.enumerated() {
            let place = "token \(index + 1)"
            guard let entry = item as? [String: Any] else { throw fail("has \(place) that is not a mapping") }
            if let unknown = entry.keys.sorted().first(where: { !["name", "sha256", "rights"].contains($0) }) {
                throw fail("has \(place) with an unknown key '\(unknown)' (name, sha256, rights)")
            }
            guard let name = entry["name"] as? String, !name.isEmpty else { throw fail("has \(place) with no name") }
            guard !tokens.contains(where: { $0.name == name }) else { throw fail("names '\(name)' twice") }
            guard let hex = entry["sha256"] as? String, let hash = Self.bytes(hex: hex) else {
                throw fail("has token '\(name)' whose sha256 is not 64 hex digits (make one with shoal token hash)")
            }
            guard let spelled = entry["rights"] as? [Any], !spelled.isEmpty else {
                throw fail("has token '\(name)' with no list of rights")
            }
            var rights: [AdminRight] = []
            for value in spelled {
                guard let text = value as? String, let right = AdminRight(parsing: text) else {
                    throw fail("gives token '\(name)' an unknown right '\(value)' (\(AdminRight.spellings))")
                }
                rights.append(right)
            }
            tokens.append(AdminToken(name: name, sha256: hash, rights: rights))
        }
        return tokens
    }

    /// 32 bytes from 64 hex digits, either case.
    private static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        let hexDigits = Set("0123456789abcdefABCDEF".utf8)
        guard digits.count == 64, digits.allSatisfy(hexDigits.contains) else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: 64, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else {
                return nil
            }
            bytes.append(byte)
        }
        return bytes
    }
}
