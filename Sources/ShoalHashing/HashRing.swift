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
        /// Points per node of weight 1 for ``Algorithm/ring64``.
        public var pointsPerNode: Int
        /// Table size for ``Algorithm/maglev``: a prime greater than the node count.
        public var tableSize: Int

        public init(pointsPerNode: Int = Ring64.defaultPointsPerNode, tableSize: Int = MaglevTable.defaultTableSize) {
            self.pointsPerNode = pointsPerNode
            self.tableSize = tableSize
        }
    }

    enum Storage: Sendable {
        case ketama(KetamaRing)
        case ring64(Ring64)
        case jump(JumpHash)
        case rendezvous(RendezvousHash)
        case maglev(MaglevTable)
    }

    /// The algorithm in use.
    public let algorithm: Algorithm
    let storage: Storage

    /// Builds a placement.
    ///
    /// - Throws: ``HashRingError`` naming the node or option at fault.
    public init(nodes: [Endpoint], algorithm: Algorithm = .ring64, options: Options = Options()) throws(HashRingError) {
        self.algorithm = algorithm
        switch algorithm {
        case .ketama:
            storage = .ketama(try KetamaRing(nodes: nodes, flavor: .libmemcached))
        case .ketamaClassic:
            storage = .ketama(try KetamaRing(nodes: nodes, flavor: .classic))
        case .ring64:
            storage = .ring64(try Ring64(nodes: nodes, pointsPerNode: options.pointsPerNode))
        case .jump:
            storage = .jump(try JumpHash(nodes: nodes))
        case .rendezvous:
            storage = .rendezvous(try RendezvousHash(nodes: nodes))
        case .maglev:
            storage = .maglev(try MaglevTable(nodes: nodes, tableSize: options.tableSize))
        }
    }

    private init(algorithm: Algorithm, storage: Storage) {
        self.algorithm = algorithm
        self.storage = storage
    }

    /// The concrete placement behind this value.
    public var placement: any Placement {
        switch storage {
        case .ketama(let p): p
        case .ring64(let p): p
        case .jump(let p): p
        case .rendezvous(let p): p
        case .maglev(let p): p
        }
    }

    public var nodes: [Endpoint] {
        switch storage {
        case .ketama(let p): p.nodes
        case .ring64(let p): p.nodes
        case .jump(let p): p.nodes
        case .rendezvous(let p): p.nodes
        case .maglev(let p): p.nodes
        }
    }

    public func index(forKeyBytes key: UnsafeRawBufferPointer) -> Int {
        switch storage {
        case .ketama(let p): p.index(forKeyBytes: key)
        case .ring64(let p): p.index(forKeyBytes: key)
        case .jump(let p): p.index(forKeyBytes: key)
        case .rendezvous(let p): p.index(forKeyBytes: key)
        case .maglev(let p): p.index(forKeyBytes: key)
        }
    }

    public func indices(forKeyBytes key: UnsafeRawBufferPointer, count: Int) -> [Int] {
        switch storage {
        case .ketama(let p): p.indices(forKeyBytes: key, count: count)
        case .ring64(let p): p.indices(forKeyBytes: key, count: count)
        case .jump(let p): p.indices(forKeyBytes: key, count: count)
        case .rendezvous(let p): p.indices(forKeyBytes: key, count: count)
        case .maglev(let p): p.indices(forKeyBytes: key, count: count)
        }
    }

    public func adding(_ node: Endpoint) throws(HashRingError) -> HashRing {
        switch storage {
        case .ketama(let p): HashRing(algorithm: algorithm, storage: .ketama(try p.adding(node)))
        case .ring64(let p): HashRing(algorithm: algorithm, storage: .ring64(try p.adding(node)))
        case .jump(let p): HashRing(algorithm: algorithm, storage: .jump(try p.adding(node)))
        case .rendezvous(let p): HashRing(algorithm: algorithm, storage: .rendezvous(try p.adding(node)))
        case .maglev(let p): HashRing(algorithm: algorithm, storage: .maglev(try p.adding(node)))
        }
    }

    public func removing(address: String) throws(HashRingError) -> HashRing {
        switch storage {
        case .ketama(let p): HashRing(algorithm: algorithm, storage: .ketama(try p.removing(address: address)))
        case .ring64(let p): HashRing(algorithm: algorithm, storage: .ring64(try p.removing(address: address)))
        case .jump(let p): HashRing(algorithm: algorithm, storage: .jump(try p.removing(address: address)))
        case .rendezvous(let p): HashRing(algorithm: algorithm, storage: .rendezvous(try p.removing(address: address)))
        case .maglev(let p): HashRing(algorithm: algorithm, storage: .maglev(try p.removing(address: address)))
        }
    }
}
