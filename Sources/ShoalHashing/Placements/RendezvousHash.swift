import ShoalCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Rendezvous (highest random weight) hashing: every node scores the key and the highest
/// score wins.
///
/// A node's score is SplitMix64 of the key's XXH64 mixed with the node's own XXH64 seed. With
/// weights, the score is `-weight / ln(u)` for `u` that hash mapped into (0, 1), the
/// logarithmic method, which gives each node a share proportional to its weight. When every
/// weight is equal the logarithm is skipped.
///
/// A lookup scores every node, so it costs O(n): fine for tens of nodes, slow for thousands
/// (use ``Ring64`` or ``MaglevTable`` there). In exchange it needs no memory beyond one seed
/// per node, and adding or removing any node moves only that node's share of keys.
///
/// Replica sets are the `count` highest-scoring nodes, best first.
public struct RendezvousHash: Placement {
    public let nodes: [Endpoint]
    private let seeds: [UInt64]
    private let weights: [Double]
    private let isUniform: Bool

    /// - Throws: ``HashRingError`` for an empty set, a duplicate address or a bad weight.
    public init(nodes: [Endpoint]) throws(HashRingError) {
        try HashRingError.validate(nodes, algorithm: "rendezvous")
        self.init(validated: nodes, seeds: nodes.map { XXH64.hash($0.address) })
    }

    private init(validated nodes: [Endpoint], seeds: [UInt64]) {
        self.nodes = nodes
        self.seeds = seeds
        self.weights = nodes.map(\.weight)
        self.isUniform = Set(weights).count == 1
    }

    /// Node `node`'s score for a key hash; higher wins.
    @inline(__always)
    func score(_ hash: UInt64, node: Int) -> Double {
        let mixed = Mix64.splitMix(hash ^ seeds[node])
        if isUniform {
            return Double(mixed >> 11)
        }
        let unit = (Double(mixed >> 11) + 0.5) * 0x1p-53
        return -weights[node] / log(unit)
    }

    /// The index of the node for a 64-bit key hash (XXH64 of the key, seed 0).
    public func index(forHash hash: UInt64) -> Int {
        var best = 0
        var bestScore = -Double.infinity
        for node in 0..<nodes.count {
            let score = score(hash, node: node)
            if score > bestScore {
                best = node
                bestScore = score
            }
        }
        return best
    }

    public func index(forKeyBytes key: UnsafeRawBufferPointer) -> Int {
        index(forHash: XXH64.hash(key))
    }

    public func indices(forKeyBytes key: UnsafeRawBufferPointer, count: Int) -> [Int] {
        let hash = XXH64.hash(key)
        let scored = (0..<nodes.count).map { (node: $0, score: score(hash, node: $0)) }
        let ranked = scored.sorted { $0.score != $1.score ? $0.score > $1.score : $0.node < $1.node }
        return ranked.prefix(max(0, count)).map(\.node)
    }

    public func adding(_ node: Endpoint) throws(HashRingError) -> RendezvousHash {
        let grown = nodes + [node]
        try HashRingError.validate(grown, algorithm: "rendezvous")
        return RendezvousHash(validated: grown, seeds: seeds + [XXH64.hash(node.address)])
    }

    public func removing(address: String) throws(HashRingError) -> RendezvousHash {
        let index = try HashRingError.index(of: address, in: nodes)
        return RendezvousHash(validated: nodes.removing(at: index), seeds: seeds.removing(at: index))
    }
}
