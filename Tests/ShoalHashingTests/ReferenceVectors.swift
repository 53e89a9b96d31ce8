import Foundation
import ShoalCore

/// The reference files in `Vectors/`, made by `scripts/vectors/generate` from the real
/// libraries (see `Vectors/README.md`).
enum ReferenceVectors {
    static var directory: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Vectors")
    }

    static func text(_ path: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(path), encoding: .utf8)
    }

    /// Rows of a CSV file without its header, split on commas.
    static func csvRows(_ path: String) throws -> [[Substring]] {
        try text(path).split(separator: "\n", omittingEmptySubsequences: true).dropFirst().map {
            $0.split(separator: ",", omittingEmptySubsequences: false)
        }
    }

    /// The 10,000 keys, in file order (the first is the empty key).
    static func keys() throws -> [String] {
        var lines = try text("keys.txt").components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// Server sets by name, in file order.
    static func serverSets() throws -> [(name: String, servers: [Endpoint])] {
        try text("sets.txt").split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let colon = line.firstIndex(of: ":")!
            let servers = try line[line.index(after: colon)...].split(separator: " ").map {
                try Endpoint(parsing: String($0))
            }
            return (String(line[..<colon]), servers)
        }
    }

    /// `key,node` rows as (key, node) pairs; the node is everything after the last comma.
    static func placements(_ path: String) throws -> [(key: String, node: String)] {
        let text = try text(path)
        var lines = text.components(separatedBy: "\n").dropFirst()
        if lines.last == "" { lines.removeLast() }
        return lines.map { line in
            let comma = line.lastIndex(of: ",")!
            return (String(line[..<comma]), String(line[line.index(after: comma)...]))
        }
    }
}
