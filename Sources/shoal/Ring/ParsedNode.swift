import ShoalCore

/// A `--node HOST:PORT[=WEIGHT]` argument: the endpoint, and the text to print for it.
struct ParsedNode {
    let endpoint: Endpoint
    /// `HOST:PORT` exactly as the user wrote it, without the weight.
    let name: String

    /// Parses every `--node`, rejecting malformed ones, bad weights, duplicates and an empty
    /// list with a message that names the argument.
    static func parse(_ arguments: [String]) throws(UsageError) -> [ParsedNode] {
        guard !arguments.isEmpty else {
            throw UsageError("give at least one --node HOST:PORT[=WEIGHT]")
        }
        var seen: [String: String] = [:]
        var nodes: [ParsedNode] = []
        for argument in arguments {
            let endpoint: Endpoint
            do {
                endpoint = try Endpoint(parsing: argument)
            } catch {
                throw UsageError("--node \(error)")
            }
            if let first = seen[endpoint.address] {
                throw UsageError("--node '\(argument)' repeats '\(first)': each node may be given once")
            }
            seen[endpoint.address] = argument
            let name = argument.lastIndex(of: "=").map { String(argument[..<$0]) } ?? argument
            nodes.append(ParsedNode(endpoint: endpoint, name: name))
        }
        return nodes
    }
}
