import ShoalCore
import ShoalHashing

/// One immutable version of a balancer's endpoint set and what is precomputed from it.
/// Pickers read it without a lock; a new set makes a new snapshot.
final class EndpointSnapshot: Sendable {
    let core: BalancerCore
    let endpoints: [Endpoint]
    let stats: [EndpointStats]
    let weights: [Double]
    /// Whether every weight is the same (cheaper comparisons).
    let uniformWeights: Bool
    /// Walker's alias table for weighted random sampling in O(1).
    let aliasProbability: [Double]
    let alias: [Int]
    /// The placement for ring-hash and Maglev strategies.
    let placement: (any Placement)?
    /// The bounded-load wrapper, when the strategy asks for one.
    let bounded: BoundedLoadPlacement?
    /// Increases with every update.
    let generation: Int

    init(core: BalancerCore, endpoints: [Endpoint], stats: [EndpointStats], generation: Int) throws(BalancerError) {
        self.core = core
        self.endpoints = endpoints
        self.stats = stats
        self.generation = generation
        let weights = endpoints.map(\.weight)
        self.weights = weights
        uniformWeights = Set(weights).count <= 1
        (aliasProbability, alias) = Self.aliasTable(weights)
        do throws(HashRingError) {
            switch core.strategy {
            case .ringHash(let boundedLoad) where !endpoints.isEmpty:
                let ring = try Ring64(nodes: endpoints)
                placement = ring
                bounded = try Self.bounded(boundedLoad, .ring64(ring))
            case .maglev(let boundedLoad) where !endpoints.isEmpty:
                let size = MaglevTable.defaultTableSize > endpoints.count ? MaglevTable.defaultTableSize : 655_373
                let table = try MaglevTable(nodes: endpoints, tableSize: size)
                placement = table
                bounded = try Self.bounded(boundedLoad, .maglev(table))
            default:
                placement = nil
                bounded = nil
            }
        } catch {
            throw BalancerError(.invalidConfiguration, error.message)
        }
    }

    var count: Int { stats.count }

    private static func bounded(
        _ factor: Double?, _ base: BoundedLoadPlacement.Base
    ) throws(HashRingError) -> BoundedLoadPlacement? {
        guard let factor else { return nil }
        return try BoundedLoadPlacement(base: base, epsilon: factor - 1)
    }

    /// Vose's alias method: sampling index i with probability weights[i] / Σ weights.
    static func aliasTable(_ weights: [Double]) -> ([Double], [Int]) {
        let count = weights.count
        guard count > 0 else { return ([], []) }
        let total = weights.reduce(0, +)
        var scaled = weights.map { $0 * Double(count) / total }
        var probability = [Double](repeating: 1, count: count)
        var alias = Array(0..<count)
        var small = scaled.indices.filter { scaled[$0] < 1 }
        var large = scaled.indices.filter { scaled[$0] >= 1 }
        while let less = small.popLast(), let more = large.popLast() {
            probability[less] = scaled[less]
            alias[less] = more
            scaled[more] -= 1 - scaled[less]
            if scaled[more] < 1 { small.append(more) } else { large.append(more) }
        }
        return (probability, alias)
    }
}
