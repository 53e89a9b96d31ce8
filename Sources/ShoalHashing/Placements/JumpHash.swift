import ShoalCore

/// Jump consistent hash (Lamping & Veach, 2014): no table, no memory, perfectly even.
///
/// ``bucket(for:bucketCount:)`` is bucket-for-bucket identical to the paper's reference code.
/// String keys are hashed with ``XXH64`` (seed 0) first.
///
/// Jump numbers its buckets `0 ..< n`; bucket `i` is `nodes[i]`. **Only appending a node or
/// removing the last one is minimal-disruption** (about 1/(n+1) of keys move). Removing a node
/// from the middle renumbers every node after it and moves far more keys, so use jump where
/// nodes are shards numbered in order (storage partitions, not a changing set of servers).
/// Jump cannot weight nodes; every node must have weight 1.
///
/// Replica sets: the owner, then the buckets that jump picks for the key hash re-mixed with
/// SplitMix64 (the first not already taken each time). After `32 × count` tries without
/// finding a new node, the remaining nodes follow the owner in index order.
public struct JumpHash: Placement {
    public let nodes: [Endpoint]

    /// - Throws: ``HashRingError`` for an empty set, a duplicate address or a weight other than 1.
    public init(nodes: [Endpoint]) throws(HashRingError) {
        try HashRingError.validate(nodes, allowsWeights: false, algorithm: "jump")
        self.nodes = nodes
    }

    private init(validated nodes: [Endpoint]) {
        self.nodes = nodes
    }

    /// The paper's algorithm: the bucket in `0 ..< bucketCount` for a 64-bit key.
    ///
    /// `bucketCount` must be at least 1; values above `Int32.max` are treated as `Int32.max`,
    /// as the reference's `int32_t` parameter would.
    @inlinable
    public static func bucket(for key: UInt64, bucketCount: Int) -> Int {
        let buckets = Int64(min(max(bucketCount, 1), Int(Int32.max)))
        var key = key
        var b: Int64 = -1
        var j: Int64 = 0
        while j < buckets {
            b = j
            key = key &* 2_862_933_555_777_941_757 &+ 1
            // `key >> 33` has 31 bits, so the signed conversion is exact and cheaper.
            let divisor = Double(Int64(truncatingIfNeeded: key >> 33) &+ 1)
            j = Int64(Double(b &+ 1) * (2_147_483_648.0 / divisor))
        }
        return Int(b)
    }

    /// The index of the node for a 64-bit key hash.
    @inline(__always)
    public func index(forHash hash: UInt64) -> Int {
        Self.bucket(for: hash, bucketCount: nodes.count)
    }

    public func index(forKeyBytes key: UnsafeRawBufferPointer) -> Int {
        index(forHash: XXH64.hash(key))
    }

    public func indices(forKeyBytes key: UnsafeRawBufferPointer, count: Int) -> [Int] {
        var replicas = DistinctNodes(wanted: count, nodeCount: nodes.count)
        guard !replicas.isFull else { return [] }
        let hash = XXH64.hash(key)
        let owner = index(forHash: hash)
        replicas.offer(owner)
        var attempt: UInt64 = 1
        while !replicas.isFull && attempt <= UInt64(32 * replicas.wanted) {
            replicas.offer(index(forHash: Mix64.splitMix(hash &+ attempt)))
            attempt += 1
        }
        return replicas.filled(from: owner)
    }

    /// Appends a node as the new last bucket: about 1/(n+1) of keys move to it.
    public func adding(_ node: Endpoint) throws(HashRingError) -> JumpHash {
        let grown = nodes + [node]
        try HashRingError.validate(grown, allowsWeights: false, algorithm: "jump")
        return JumpHash(validated: grown)
    }

    /// Removes a node. Minimal-disruption only for the last node; see the type's notes.
    public func removing(address: String) throws(HashRingError) -> JumpHash {
        let index = try HashRingError.index(of: address, in: nodes)
        return JumpHash(validated: nodes.removing(at: index))
    }
}
