import ShoalCore
import Synchronization

/// Consistent hashing with bounded loads (Mirrokni, Thorup & Zadimoghaddam, 2018): keys go to
/// their consistent-hash node unless it already holds more than its share, in which case they
/// go to the next node in the key's preference order that has room.
///
/// Use it for live assignments that come and go (connections, sessions, in-flight requests):
/// call ``acquire(_:)`` when one starts and ``release(_:)`` when it ends. With `m` live
/// assignments over `n` nodes, an assignment is only placed on a node whose load after
/// placing is at most `⌈(1 + ε) · m / n⌉`, where `m` counts the new assignment. Loads never
/// move when others are released, so after many releases a node can hold more than the cap
/// computed from the smaller `m`; new assignments still respect the cap of their moment.
///
/// Counts are atomics: ``acquire(_:)`` and ``release(_:)`` may be called from any number of
/// threads without a lock.
///
/// ```swift
/// let placement = try BoundedLoadPlacement(base: .ring64(try Ring64(nodes: servers)), epsilon: 0.25)
/// let assignment = placement.acquire("session:7")
/// defer { placement.release(assignment) }
/// let server = placement.nodes[assignment.index]
/// ```
public final class BoundedLoadPlacement: Sendable {
    /// The placement whose preference order is followed.
    public enum Base: Sendable {
        /// Clockwise along a ``Ring64``.
        case ring64(Ring64)
        /// Forward through a ``MaglevTable``.
        case maglev(MaglevTable)

        var nodes: [Endpoint] {
            switch self {
            case .ring64(let ring): ring.nodes
            case .maglev(let table): table.nodes
            }
        }

        func walk(fromHash hash: UInt64, _ visit: (Int) -> Bool) {
            switch self {
            case .ring64(let ring): ring.walk(fromHash: hash, visit)
            case .maglev(let table): table.walk(fromHash: hash, visit)
            }
        }
    }

    /// A live assignment of a key to a node; give it back with ``release(_:)`` exactly once.
    public struct Assignment: Sendable, Hashable {
        /// The index in ``BoundedLoadPlacement/nodes`` of the node the key was placed on.
        public let index: Int
    }

    /// The default ε: no node takes more than 125 % of the average.
    public static let defaultEpsilon = 0.25

    public let base: Base
    /// ε: each node takes at most `⌈(1 + ε) · average⌉` live assignments.
    public let epsilon: Double
    private let counts: [LoadCount]
    private let total = Atomic<Int>(0)

    /// - Throws: ``HashRingError`` when `epsilon` is negative or not finite.
    public init(base: Base, epsilon: Double = defaultEpsilon) throws(HashRingError) {
        guard epsilon.isFinite, epsilon >= 0 else {
            throw HashRingError(.invalidLoadFactor, "bounded-load ε must be a finite number ≥ 0, not \(epsilon)")
        }
        self.base = base
        self.epsilon = epsilon
        self.counts = base.nodes.map { _ in LoadCount() }
    }

    /// The nodes, in the base placement's order.
    public var nodes: [Endpoint] { base.nodes }

    /// The largest load a node may reach when there are `liveCount` live assignments.
    public func capacity(forLiveCount liveCount: Int) -> Int {
        let average = Double(max(liveCount, 1)) / Double(counts.count)
        return Int(((1 + epsilon) * average).rounded(.up))
    }

    /// Places `key` and counts it against its node until ``release(_:)``.
    public func acquire(_ key: String) -> Assignment {
        acquire(hash: XXH64.hash(key))
    }

    /// Places a key by its 64-bit hash (XXH64 of the key, seed 0).
    public func acquire(hash: UInt64) -> Assignment {
        var live = total.add(1, ordering: .relaxed).newValue
        while true {
            let cap = capacity(forLiveCount: live)
            var chosen: Int?
            base.walk(fromHash: hash) { node in
                if counts[node].increment(ifBelow: cap) {
                    chosen = node
                    return false
                }
                return true
            }
            if let chosen {
                return Assignment(index: chosen)
            }
            // Every node was at the cap: others acquired meanwhile; their count raises the cap.
            live = max(live, total.load(ordering: .relaxed))
        }
    }

    /// Ends a live assignment made by this placement.
    public func release(_ assignment: Assignment) {
        counts[assignment.index].decrement()
        total.subtract(1, ordering: .relaxed)
    }

    /// The live assignments of each node, by node index.
    public var loads: [Int] { counts.map(\.value) }

    /// The number of live assignments.
    public var liveCount: Int { total.load(ordering: .relaxed) }
}

/// One node's live-assignment count.
private final class LoadCount: Sendable {
    private let count = Atomic<Int>(0)

    var value: Int { count.load(ordering: .relaxed) }

    /// Adds one if the count is below `cap`; false if it is not.
    func increment(ifBelow cap: Int) -> Bool {
        var current = count.load(ordering: .relaxed)
        while current < cap {
            let (exchanged, original) = count.compareExchange(
                expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func decrement() {
        count.subtract(1, ordering: .relaxed)
    }
}
