import ShoalCore

/// A placement whose algorithm is chosen at run time, for configuration files and tools.
///
/// ```swift
/// let ring = try HashRing(nodes: endpoints, algorithm: .ketama)
/// ring.node(for: "user:42")                  // one owner
/// ring.nodes(for: "user:42", count: 3)       // 3 distinct replicas
/// let bigger = try ring.adding(newNode)      // a new value; `ring` is unchanged
/// ```
///
/// Each algorithm is also a type of its own (``KetamaRing``, ``Ring64``, ``JumpHash``,
/// ``RendezvousHash``, ``MaglevTable``); use those directly when the choice is fixed. The
/// article "Choosing a placement" compares them.
public struct HashRing: Placement {
    /// The placement algorithms.
    public enum Algorithm: String, Sendable, CaseIterable, CustomStringConvertible {
        /// libmemcached 1.1.x weighted ketama (``KetamaRing/Flavor/libmemcached``).
        case ketama
        /// Original libketama and uhashring (``KetamaRing/Flavor/classic``).
        case ketamaClassic = "ketama-classic"
        /// XXH64 ring with an index, the fast default (``Ring64``).
        case ring64
        /// Jump consistent hash (``JumpHash``).
        case jump
        /// Highest random weight (``RendezvousHash``).
        case rendezvous
        /// Maglev lookup table (``MaglevTable``).
        case maglev

        public var description: String { rawValue }
    }

    /// Settings that only some algorithms read.
    public struct Options: Sendable, Hashable {
        /// Points per node of weight 1 for ``Algorithm/ring64``; `nil` follows the node count
        /// (``Ring64/automaticPointsPerNode(forNodeCount:)``).
        public var pointsPerNode: Int?
        /// Table size for ``Algorithm/maglev``, a prime greater than the node count; `nil`
        /// follows the node count (``MaglevTable/automaticTableSize(forNodeCount:)``).
        public var tableSize: Int?

        public init(pointsPerNode: Int? = nil, tableSize: Int? = nil) {
            self.pointsPerNode = pointsPerNode
            self.tableSize = tableSize
        }
    }

    /// The algorithm in use.
    public let algorithm: Algorithm
    /// The concrete placement behind this value.
    ///
    /// Held as an existential rather than an enum: calling a requirement through it borrows
    /// the placement, where binding an enum payload copies it and retains all of its arrays on
    /// every lookup.
    public let placement: any Placement

    /// Builds a placement.
    ///
    /// - Throws: ``HashRingError`` naming the node or option at fault.
    public init(nodes: [Endpoint], algorithm: Algorithm = .ring64, options: Options = Options()) throws(HashRingError) {
        self.algorithm = algorithm
        switch algorithm {
        case .ketama:
            placement = try KetamaRing(nodes: nodes, flavor: .libmemcached)
        case .ketamaClassic:
            placement = try KetamaRing(nodes: nodes, flavor: .classic)
        case .ring64:
            placement = try Ring64(nodes: nodes, pointsPerNode: options.pointsPerNode)
        case .jump:
            placement = try JumpHash(nodes: nodes)
        case .rendezvous:
            placement = try RendezvousHash(nodes: nodes)
        case .maglev:
            placement = try MaglevTable(nodes: nodes, tableSize: options.tableSize)
        }
    }

    private init(algorithm: Algorithm, placement: any Placement) {
        self.algorithm = algorithm
        self.placement = placement
    }

    public var nodes: [Endpoint] { placement.nodes }

    public func index(forKeyBytes key: UnsafeRawBufferPointer) -> Int {
        placement.index(forKeyBytes: key)
    }

    public func indices(forKeyBytes key: UnsafeRawBufferPointer, count: Int) -> [Int] {
        placement.indices(forKeyBytes: key, count: count)
    }

    public func adding(_ node: Endpoint) throws(HashRingError) -> HashRing {
        HashRing(algorithm: algorithm, placement: try placement.adding(node))
    }

    public func removing(address: String) throws(HashRingError) -> HashRing {
        HashRing(algorithm: algorithm, placement: try placement.removing(address: address))
    }
}
