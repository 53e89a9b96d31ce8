import ShoalCore

/// Shoal's default consistent-hash ring: 64-bit points from XXH64, with an index that makes a
/// lookup one hash, one table read and a scan of about one point.
///
/// Each node gets `pointsPerNode × weight` points (rounded, at least one, at most 2²²), so
/// weights are relative to 1. A node's points are
/// the SplitMix64 sequence seeded with XXH64 of its ``Endpoint/address``, so they depend on
/// that node alone: adding or removing a node moves only the keys that node gains or loses.
///
/// Memory is 12 bytes a point (a `UInt64` point and a `UInt32` owner) and 4 to 8 bytes a point
/// for the prefix index (one `UInt32` per point rounded up to a power of two): 16 to 20 bytes
/// × points per node × nodes, about 1.7 MB for 100 nodes at the default. A node's points are
/// not kept: they are derived again, from its address alone, when it is removed or added.
///
/// Unless a number is given, points per node follow the node count
/// (``automaticPointsPerNode(forNodeCount:)``): ``defaultPointsPerNode`` up to 4,096 nodes, then
/// as many as keep the ring at ``automaticPointBudget`` points (64 MiB). What that gives up:
///
/// - **Balance.** A node's share is the sum of its points' arcs, so its spread falls only with
///   the square root of its points: the busiest of 100 nodes is within 8 % of the mean at 1,024
///   points, but the busiest of 10,000 is 16 % over at 1,024 points and 21 % over at the 419
///   of the budget (20 million keys). Above a few thousand nodes prefer ``MaglevTable`` or ``JumpHash``
///   when an even load matters more than ring order.
/// - **Movement.** Each node's points are a prefix of its own sequence, so when the count
///   drops by one as a node joins, every node loses its last point and about 1 / points of the
///   keys move besides the new node's share (every 24th node added, at 10,000 nodes). Give
///   `pointsPerNode` to keep movement ideal at the memory cost of 16 bytes a point.
///
/// ```swift
/// let ring = try Ring64(nodes: endpoints)
/// let owner = ring.node(for: "user:42")
/// let replicas = ring.nodes(for: "user:42", count: 3)   // 3 distinct nodes, ring order
/// ```
///
/// Replica sets walk the ring clockwise from the key and take each node the first time it is
/// met.
public struct Ring64: Placement {
    /// Points per node of weight 1 unless another number is given, up to 4,096 nodes:
    /// peak-to-mean load ≤ 1.10 at 100 nodes (see the "Choosing a placement" article for the
    /// measurements).
    public static let defaultPointsPerNode = 1024
    /// The number of points the automatic points per node keeps the ring within: 2²².
    public static let automaticPointBudget = 1 << 22
    /// The largest number of points per node of weight 1 accepted.
    public static let maximumPointsPerNode = 1 << 16

    public let nodes: [Endpoint]
    /// Points per node of weight 1.
    public let pointsPerNode: Int
    /// Whether ``pointsPerNode`` follows the node count (no number was given).
    public let isPointsPerNodeAutomatic: Bool
    private let continuum: Continuum<UInt64>

    /// Builds the ring.
    ///
    /// - Parameter pointsPerNode: points per node of weight 1; `nil` (the default) derives
    ///   them from the node count with ``automaticPointsPerNode(forNodeCount:)``, again on every
    ///   node added or removed.
    /// - Throws: ``HashRingError`` for an empty node set, a duplicate address, a bad weight or
    ///   a `pointsPerNode` outside `1 ... maximumPointsPerNode`.
    public init(nodes: [Endpoint], pointsPerNode: Int? = nil) throws(HashRingError) {
        if let pointsPerNode { try Self.validate(pointsPerNode: pointsPerNode) }
        try HashRingError.validate(nodes, algorithm: "ring64")
        self.init(validated: nodes, fixedPointsPerNode: pointsPerNode)
    }

    /// Points per node when no number is given: ``defaultPointsPerNode`` up to 4,096 nodes,
    /// then ``automaticPointBudget`` ÷ `nodeCount` (419 at 10,000 nodes).
    public static func automaticPointsPerNode(forNodeCount nodeCount: Int) -> Int {
        max(1, min(defaultPointsPerNode, automaticPointBudget / max(nodeCount, 1)))
    }

    /// Builds the ring for validated nodes, deriving every node's points.
    private init(validated nodes: [Endpoint], fixedPointsPerNode: Int?) {
        let pointsPerNode = fixedPointsPerNode ?? Self.automaticPointsPerNode(forNodeCount: nodes.count)
        let seeds = nodes.map { XXH64.hash($0.address) }
        let counts = nodes.map { Self.pointCount(for: $0, pointsPerNode: pointsPerNode) }
        self.init(
            nodes: nodes, pointsPerNode: pointsPerNode, automatic: fixedPointsPerNode == nil,
            continuum: Continuum(pointCounts: counts) { node, visit in
                for index in 0..<counts[node] {
                    visit(Mix64.sequence(seed: seeds[node], index: index))
                }
            })
    }

    private init(nodes: [Endpoint], pointsPerNode: Int, automatic: Bool, continuum: Continuum<UInt64>) {
        self.nodes = nodes
        self.pointsPerNode = pointsPerNode
        self.isPointsPerNodeAutomatic = automatic
        self.continuum = continuum
    }

    static func validate(pointsPerNode: Int) throws(HashRingError) {
        guard (1...maximumPointsPerNode).contains(pointsPerNode) else {
            throw HashRingError(
                .invalidPointsPerNode,
                "points per node must be in 1...\(maximumPointsPerNode), not \(pointsPerNode)")
        }
    }

    /// How many points a node gets: `pointsPerNode × weight`, rounded, at least one.
    static func pointCount(for node: Endpoint, pointsPerNode: Int) -> Int {
        let scaled = (Double(pointsPerNode) * node.weight).rounded()
        return Int(min(max(scaled, 1), Double(maximumPointsPerNode * 64)))
    }

    /// A node's sorted points.
    static func points(for node: Endpoint, pointsPerNode: Int) -> [UInt64] {
        let seed = XXH64.hash(node.address)
        return (0..<pointCount(for: node, pointsPerNode: pointsPerNode)).map {
            Mix64.sequence(seed: seed, index: $0)
        }.sorted()
    }

    /// The points per node for `nodeCount` nodes: the fixed number, or the automatic one.
    private func pointsPerNode(forNodeCount nodeCount: Int) -> Int {
        isPointsPerNodeAutomatic ? Self.automaticPointsPerNode(forNodeCount: nodeCount) : pointsPerNode
    }

    /// Total points on the ring.
    public var pointCount: Int { continuum.points.count }

    /// The index of the node that owns a 64-bit key hash (XXH64 of the key, seed 0).
    @inline(__always)
    public func index(forHash hash: UInt64) -> Int {
        continuum.owner(atOrAfter: hash)
    }

    public func index(forKeyBytes key: UnsafeRawBufferPointer) -> Int {
        index(forHash: XXH64.hash(key))
    }

    public func indices(forKeyBytes key: UnsafeRawBufferPointer, count: Int) -> [Int] {
        let start = continuum.position(atOrAfter: XXH64.hash(key))
        return continuum.distinctOwners(from: start, count: count, nodeCount: nodes.count)
    }

    /// Calls `visit` with the owner of each point from the key hash clockwise, wrapping, until
    /// it returns `false` or every point has been visited once.
    func walk(fromHash hash: UInt64, _ visit: (Int) -> Bool) {
        continuum.walk(fromHash: hash, visit)
    }

    /// Adds a node: its points are merged in. When automatic points per node change with the
    /// new count, the ring is built again.
    public func adding(_ node: Endpoint) throws(HashRingError) -> Ring64 {
        let grown = nodes + [node]
        try HashRingError.validate(grown, algorithm: "ring64")
        guard pointsPerNode(forNodeCount: grown.count) == pointsPerNode else {
            return Ring64(validated: grown, fixedPointsPerNode: nil)
        }
        let points = Self.points(for: node, pointsPerNode: pointsPerNode)
        return Ring64(
            nodes: grown, pointsPerNode: pointsPerNode, automatic: isPointsPerNodeAutomatic,
            continuum: continuum.merging(points, node: nodes.count))
    }

    /// Removes a node: its points are filtered out. When automatic points per node change with
    /// the new count, the ring is built again.
    public func removing(address: String) throws(HashRingError) -> Ring64 {
        let removed = try HashRingError.index(of: address, in: nodes)
        let shrunk = nodes.removing(at: removed)
        guard pointsPerNode(forNodeCount: shrunk.count) == pointsPerNode else {
            return Ring64(validated: shrunk, fixedPointsPerNode: nil)
        }
        return Ring64(
            nodes: shrunk, pointsPerNode: pointsPerNode, automatic: isPointsPerNodeAutomatic,
            continuum: continuum.removing(node: removed))
    }
}
