import ShoalCore
import ShoalHashing

/// Deterministic nodes and keys for property tests, derived from a seed.
enum PlacementFixtures {
    /// `count` distinct nodes; with `weighted`, weights 1 to 4.
    static func nodes(_ count: Int, seed: UInt64, weighted: Bool = false) -> [Endpoint] {
        var generator = SplitMix(seed: seed)
        return (0..<count).map { i in
            let weight = weighted ? Double(generator.next() % 4 + 1) : 1
            return try! Endpoint(
                host: "10.\(i / 250).\(i % 250).\(generator.next() % 250)", port: 11211 + Int(generator.next() % 3),
                weight: weight)
        }
    }

    /// `count` distinct keys.
    static func keys(_ count: Int, seed: UInt64) -> [String] {
        var generator = SplitMix(seed: seed)
        return (0..<count).map { "key-\($0)-\(generator.next() % 1_000_000)" }
    }

    /// Every algorithm, each with the nodes it accepts.
    static func ring(_ algorithm: HashRing.Algorithm, _ nodes: [Endpoint]) -> HashRing {
        let usable =
            algorithm == .jump
            ? nodes.map {
                var n = $0; n.weight = 1; return n
            } : nodes
        // Maglev at its default table size: a small table (10007) moved up to 11 % of keys
        // between staying nodes in random trials, against about 1 % at the default 65537.
        return try! HashRing(nodes: usable, algorithm: algorithm, options: .init(pointsPerNode: 256))
    }

    /// The owner's address of each key.
    static func owners(_ ring: HashRing, _ keys: [String]) -> [String] {
        keys.map { ring.node(for: $0).address }
    }
}

/// SplitMix64, for test data.
typealias SplitMix = SplitMix64
