/// Builds a replica set: distinct node indices in the order they are offered, up to a wanted
/// number, with any shortfall filled afterwards (nodes that own no point or slot at all).
struct DistinctNodes {
    private(set) var result: [Int] = []
    private var seen: [Bool]
    let wanted: Int

    init(wanted: Int, nodeCount: Int) {
        self.wanted = min(wanted, nodeCount)
        seen = [Bool](repeating: false, count: nodeCount)
        result.reserveCapacity(max(self.wanted, 0))
    }

    /// Whether the set has all the nodes wanted.
    var isFull: Bool { result.count >= wanted }

    /// Adds `node` unless it is already in the set.
    mutating func offer(_ node: Int) {
        if !seen[node] {
            seen[node] = true
            result.append(node)
        }
    }

    /// The set, completed with unseen nodes taken in index order from `start`, wrapping.
    mutating func filled(from start: Int = 0) -> [Int] {
        var node = start
        while !isFull {
            offer(node)
            node = node + 1 == seen.count ? 0 : node + 1
        }
        return result
    }
}
