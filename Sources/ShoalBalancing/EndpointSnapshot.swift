import ShoalCore
import ShoalHashing

/// One immutable version of a balancer's endpoint set and what is precomputed from it.
/// Pickers read it without a lock; a new set makes a new snapshot.
final class EndpointSnapshot: Sendable {
    let core: BalancerCore
    /// `core`, for hot paths that must not touch its shared reference count.
    let unmanagedCore: Unmanaged<BalancerCore>
    let endpoints: [Endpoint]
    /// Each endpoint's ``Endpoint/address``, made once here rather than on every pick.
    let addresses: [String]
    /// Owns the statistics objects.
    let stats: [EndpointStats]
    /// The same objects, unretained, in memory this snapshot allocates and frees: `stats`
    /// keeps them alive as long as the snapshot lives, and a buffer of unmanaged references
    /// (unlike an array) is read without any reference counting on the hot path.
    ///
    /// `nonisolated(unsafe)` because unsafe pointers are not `Sendable`: this buffer is
    /// written once, in `init`, before the snapshot is shared, and only read afterwards;
    /// the objects it points to are `Sendable` and outlive it through `stats`.
    private nonisolated(unsafe) let statsReferences: UnsafeMutableBufferPointer<Unmanaged<EndpointStats>>
    /// Whether every weight is the same (cheaper comparisons).
    let uniformWeights: Bool
    /// The weights, and Walker's alias table for weighted random sampling in O(1), in memory
    /// this snapshot allocates and frees, for ``PickContext``: written once in `init`, then
    /// only read; `nonisolated(unsafe)` because buffer pointers are not `Sendable`.
    nonisolated(unsafe) let weightsBuffer: UnsafeBufferPointer<Double>
    nonisolated(unsafe) let aliasProbabilityBuffer: UnsafeBufferPointer<Double>
    nonisolated(unsafe) let aliasBuffer: UnsafeBufferPointer<Int>
    /// The placement for ring-hash and Maglev strategies.
    let placement: (any Placement)?
    /// The bounded-load wrapper, when the strategy asks for one.
    let bounded: BoundedLoadPlacement?
    /// Increases with every update.
    let generation: Int

    init(
        core: BalancerCore, endpoints: [Endpoint], addresses: [String], stats: [EndpointStats], generation: Int
    ) throws(BalancerError) {
        // The part that can throw comes first, before this snapshot allocates anything.
        (placement, bounded) = try Self.placement(for: core.strategy, endpoints: endpoints)
        self.core = core
        unmanagedCore = Unmanaged.passUnretained(core)
        self.endpoints = endpoints
        self.addresses = addresses
        self.stats = stats
        statsReferences = .allocate(capacity: stats.count)
        _ = statsReferences.initialize(from: stats.lazy.map { Unmanaged.passUnretained($0) })
        self.generation = generation
        let weights = endpoints.map(\.weight)
        uniformWeights = weights.allSatisfy { $0 == weights.first }
        let (aliasProbability, alias) = Self.aliasTable(weights)
        weightsBuffer = Self.copy(weights)
        aliasProbabilityBuffer = Self.copy(aliasProbability)
        aliasBuffer = Self.copy(alias)
    }

    /// The consistent-hash placement (and bounded-load wrapper) a sticky strategy needs.
    private static func placement(
        for strategy: BalancingStrategy, endpoints: [Endpoint]
    ) throws(BalancerError) -> ((any Placement)?, BoundedLoadPlacement?) {
        do throws(HashRingError) {
            switch strategy {
            case .ringHash(let boundedLoad) where !endpoints.isEmpty:
                let ring = try Ring64(nodes: endpoints)
                return (ring, try bounded(boundedLoad, .ring64(ring)))
            case .maglev(let boundedLoad) where !endpoints.isEmpty:
                let table = try MaglevTable(nodes: endpoints)
                return (table, try bounded(boundedLoad, .maglev(table)))
            default:
                return (nil, nil)
            }
        } catch {
            throw BalancerError(.invalidConfiguration, error.message)
        }
    }

    deinit {
        statsReferences.deallocate()
        weightsBuffer.deallocate()
        aliasProbabilityBuffer.deallocate()
        aliasBuffer.deallocate()
    }

    /// A buffer this snapshot owns holding `values`.
    private static func copy<T>(_ values: [T]) -> UnsafeBufferPointer<T> {
        let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: values.count)
        _ = buffer.initialize(from: values)
        return UnsafeBufferPointer(buffer)
    }

    /// The unretained statistics references, for ``PickContext``.
    var statsBuffer: UnsafeBufferPointer<Unmanaged<EndpointStats>> {
        UnsafeBufferPointer(statsReferences)
    }

    var count: Int { statsReferences.count }

    /// Calls `body` with endpoint `index`'s statistics without retaining them.
    @inline(__always)
    func withStats<R>(_ index: Int, _ body: (EndpointStats) -> R) -> R {
        statsReferences[index]._withUnsafeGuaranteedRef(body)
    }

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

/// A picker's own reference to a snapshot. Picks retain this object, not the shared snapshot,
/// so threads picking at once do not contend on one reference count.
final class SnapshotHandle: Sendable {
    // Each picker's handle has its reference count changed on every pick; the padding keeps
    // two pickers' handles (often allocated side by side) off each other's cache line.
    private let paddingBefore = CacheLinePadding()
    let snapshot: EndpointSnapshot
    /// `snapshot`, read without touching its shared reference count.
    let unmanaged: Unmanaged<EndpointSnapshot>

    init(_ snapshot: EndpointSnapshot) {
        self.snapshot = snapshot
        unmanaged = Unmanaged.passUnretained(snapshot)
    }

    private let paddingAfter = CacheLinePadding()
}
