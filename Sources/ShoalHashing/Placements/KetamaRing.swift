import ShoalCore

/// Ketama consistent hashing, placing keys exactly where libmemcached or libketama would.
///
/// Use it to share a memcached or Redis cluster with clients in other languages: the same key
/// goes to the same server.
///
/// - ``Flavor/libmemcached``: libmemcached 1.1.x with `MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED`
///   (what PHP, Python's pylibmc, Ruby and most C clients use). Each server gets
///   `floor(pct × 160 / 4 × n + 1e-10) × 4` points, computed in `Float` as libmemcached does,
///   where `pct` is its share of the total weight. Labels are `host-i` when the port is 11211
///   and `host:port-i` otherwise.
/// - ``Flavor/classic``: the original Last.fm libketama (and Python's uhashring): labels are
///   always `host:port-i` and each server gets `floor(pct × 40 × n) × 4` points.
///
/// Each label's MD5 gives four points (its four little-endian 32-bit words). A key's hash is
/// the first little-endian word of its MD5; the owner is the first point at or after it,
/// wrapping around, and equal points go to the server given first.
///
/// ```swift
/// let servers = try ["10.0.0.1:11211", "10.0.0.2:11211=2"].map { try Endpoint(parsing: $0) }
/// let ring = try KetamaRing(nodes: servers)
/// ring.node(for: "session:9f2c")   // the server libmemcached would pick
/// ```
///
/// Because every server's point count is scaled by its share of the total weight, adding or
/// removing a server also changes other servers' counts a little when weights differ (or
/// when float rounding lands differently for the new server count), and a small fraction of
/// keys (about 1 % in the property tests) moves between servers that stayed. libmemcached and
/// libketama behave the same way; matching them exactly is the point of this type. Use
/// ``Ring64`` when that movement matters more than compatibility.
///
/// Replica sets (``indices(forKeyBytes:count:)``) walk the ring clockwise from the key and
/// take each server the first time it is met.
public struct KetamaRing: Placement {
    /// Which ketama implementation to agree with.
    public enum Flavor: String, Sendable, CaseIterable {
        /// libmemcached 1.1.x, weighted ketama (160 points per server at equal weights).
        case libmemcached
        /// Original libketama and uhashring (160 points per server at equal weights).
        case classic
    }

    /// The implementation this ring agrees with.
    public let flavor: Flavor
    public let nodes: [Endpoint]
    /// Each node's points in label order, longest computed so far; reused when nodes change.
    private let labelPoints: [[UInt32]]
    private let continuum: Continuum<UInt32>

    /// Builds the ring.
    ///
    /// - Throws: ``HashRingError`` for an empty node set, a duplicate address or a bad weight.
    public init(nodes: [Endpoint], flavor: Flavor = .libmemcached) throws(HashRingError) {
        try HashRingError.validate(nodes, algorithm: "ketama")
        self.init(validated: nodes, flavor: flavor, cache: [:])
    }

    private init(validated nodes: [Endpoint], flavor: Flavor, cache: [String: [UInt32]]) {
        self.flavor = flavor
        self.nodes = nodes
        let counts = Self.pointCounts(for: nodes, flavor: flavor)
        var labelPoints: [[UInt32]] = []
        labelPoints.reserveCapacity(nodes.count)
        for (node, count) in zip(nodes, counts) {
            var points = cache[node.address] ?? []
            if points.count > count {
                points.removeLast(points.count - count)
            }
            while points.count < count {
                points += KetamaDigest.points(label: Self.label(for: node, index: points.count / 4, flavor: flavor))
            }
            labelPoints.append(points)
        }
        self.labelPoints = labelPoints
        self.continuum = Continuum(nodePoints: labelPoints)
    }

    /// The number of points each node gets, as the reference implementation computes it.
    static func pointCounts(for nodes: [Endpoint], flavor: Flavor) -> [Int] {
        let total = Float(nodes.reduce(0.0) { $0 + $1.weight })
        let serverCount = Float(nodes.count)
        return nodes.map { node in
            let pct = Float(node.weight) / total
            switch flavor {
            case .libmemcached:
                // libmemcached: (uint32_t)(floor((float)(pct * 160 / 4 * (float)n + 1e-10F))) * 4
                let labels = (pct * 160 / 4 * serverCount + Float(0.000_000_000_1)).rounded(.down)
                return Int(labels) * 4
            case .classic:
                // libketama: floorf(pct * 40.0 * (float)n), the product taken in double.
                let labels = Float(Double(pct) * 40.0 * Double(serverCount)).rounded(.down)
                return Int(labels) * 4
            }
        }
    }

    /// The text hashed for a node's `index`-th label.
    static func label(for node: Endpoint, index: Int, flavor: Flavor) -> String {
        switch flavor {
        case .libmemcached:
            node.port == 11211 ? "\(node.host)-\(index)" : "\(node.host):\(node.port)-\(index)"
        case .classic:
            "\(node.address)-\(index)"
        }
    }

    /// Total points on the ring.
    public var pointCount: Int { continuum.points.count }

    /// The ketama hash of a key: the first little-endian 32-bit word of its MD5.
    public static func keyHash(_ key: UnsafeRawBufferPointer) -> UInt32 {
        KetamaDigest.keyHash(key)
    }

    /// The index of the node that owns a ketama key hash (see ``keyHash(_:)``).
    @inline(__always)
    public func index(forHash hash: UInt32) -> Int {
        continuum.isEmpty ? 0 : continuum.owner(atOrAfter: hash)
    }

    public func index(forKeyBytes key: UnsafeRawBufferPointer) -> Int {
        if nodes.count == 1 { return 0 }
        return index(forHash: KetamaDigest.keyHash(key))
    }

    public func indices(forKeyBytes key: UnsafeRawBufferPointer, count: Int) -> [Int] {
        let start = continuum.isEmpty ? 0 : continuum.position(atOrAfter: KetamaDigest.keyHash(key))
        return continuum.distinctOwners(from: start, count: count, nodeCount: nodes.count)
    }

    /// Adds a node. Nodes keep the label hashes already computed; with unequal weights a node
    /// whose share grows hashes only its extra labels, as ketama's point counts depend on the
    /// total weight.
    public func adding(_ node: Endpoint) throws(HashRingError) -> KetamaRing {
        let grown = nodes + [node]
        try HashRingError.validate(grown, algorithm: "ketama")
        return KetamaRing(validated: grown, flavor: flavor, cache: cache)
    }

    public func removing(address: String) throws(HashRingError) -> KetamaRing {
        let index = try HashRingError.index(of: address, in: nodes)
        return KetamaRing(validated: nodes.removing(at: index), flavor: flavor, cache: cache)
    }

    private var cache: [String: [UInt32]] {
        Dictionary(uniqueKeysWithValues: zip(nodes.map(\.address), labelPoints))
    }
}
