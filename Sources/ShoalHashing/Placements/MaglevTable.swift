import ShoalCore

/// Maglev hashing (Eisenbud et al., NSDI 2016): a lookup table of prime size `M` filled by
/// letting each node claim slots in turn from its own permutation.
///
/// A lookup is one XXH64 of the key and one table read. Each node's permutation is
/// `(offset + j × skip) mod M` with `offset = XXH64(address, seed₁) mod M` and
/// `skip = XXH64(address, seed₂) mod (M − 1) + 1`. With weights, a node takes a turn in a round
/// only while its claimed slots stay proportional to its weight (the approach Envoy uses), so
/// shares follow weights.
///
/// The table makes load very even (each node owns ⌊M/n⌋ or ⌈M/n⌉ slots at equal weights), at
/// the cost of some extra disruption: when a node is added or removed, a few percent more keys
/// than the ideal 1/(n+1) move between nodes that stayed, because permutations compete for
/// slots. A table of 65537 slots takes about a millisecond to build.
///
/// Balance depends on slots per node: the Maglev paper advises at least 100 × the node count.
/// Unless a size is given, the table follows the node count (``automaticTableSize(forNodeCount:)``):
/// 65537 slots up to 655 nodes, then the first prime above the next power of two that gives every
/// node 100 slots, up to 16,777,259 slots (64 MiB of table, enough for 167,772 nodes). Sizes come
/// in doublings rather than the smallest prime ≥ 100 × nodes because a new size moves nearly every
/// key: with doublings that happens when the node count crosses 655, 1,310, 2,621, 5,242, 10,485,
/// … nodes and not on every node added. Give an explicit size to keep one table size whatever the
/// node count.
///
/// Replica sets walk the table forward from the key's slot and take each node the first time
/// it is met; nodes owning no slot follow in index order.
public struct MaglevTable: Placement {
    /// The smallest automatic table size, a prime: the size for up to 655 nodes.
    public static let defaultTableSize = 65537
    /// The largest automatic table size, a prime just above 2²⁴ (64 MiB of table).
    public static let largestAutomaticTableSize = 16_777_259
    /// The largest table size accepted (2²⁶ slots, 256 MiB of table).
    public static let maximumTableSize = 1 << 26

    public let nodes: [Endpoint]
    /// `M`, the number of slots.
    public let tableSize: Int
    /// Whether ``tableSize`` follows the node count (no size was given).
    public let isTableSizeAutomatic: Bool
    private let offsets: [UInt64]
    private let skips: [UInt64]
    private let table: [UInt32]

    /// Builds the table.
    ///
    /// - Parameter tableSize: the number of slots, a prime; `nil` (the default) sizes the table
    ///   from the node count with ``automaticTableSize(forNodeCount:)``, again on every node
    ///   added or removed.
    /// - Throws: ``HashRingError`` for an empty set, a duplicate address, a bad weight, or a
    ///   table size that is not a prime greater than the node count and at most
    ///   ``maximumTableSize``.
    public init(nodes: [Endpoint], tableSize: Int? = nil) throws(HashRingError) {
        try HashRingError.validate(nodes, algorithm: "maglev")
        self = try Self(validated: nodes, fixedTableSize: tableSize)
    }

    /// The table size used when none is given: 65537 up to 655 nodes, then the first prime
    /// above the smallest power of two ≥ 100 × `nodeCount`, at most ``largestAutomaticTableSize``.
    public static func automaticTableSize(forNodeCount nodeCount: Int) -> Int {
        var size = 1 << 16
        while size < 100 * nodeCount && size < 1 << 24 {
            size <<= 1
        }
        var prime = size + 1
        while !isPrime(prime) {
            prime += 2
        }
        return prime
    }

    /// Builds the table for validated nodes, hashing each node for the table's size.
    private init(validated nodes: [Endpoint], fixedTableSize: Int?) throws(HashRingError) {
        let tableSize = fixedTableSize ?? Self.automaticTableSize(forNodeCount: nodes.count)
        try Self.validate(tableSize: tableSize, nodeCount: nodes.count)
        let size = UInt64(tableSize)
        self.init(
            validated: nodes, tableSize: tableSize, automatic: fixedTableSize == nil,
            offsets: nodes.map { Self.offset(for: $0, tableSize: size) },
            skips: nodes.map { Self.skip(for: $0, tableSize: size) })
    }

    private init(validated nodes: [Endpoint], tableSize: Int, automatic: Bool, offsets: [UInt64], skips: [UInt64]) {
        self.nodes = nodes
        self.tableSize = tableSize
        self.isTableSizeAutomatic = automatic
        self.offsets = offsets
        self.skips = skips
        self.table = Self.populate(
            tableSize: tableSize, offsets: offsets, skips: skips, weights: nodes.map(\.weight))
    }

    static func validate(tableSize: Int, nodeCount: Int) throws(HashRingError) {
        guard tableSize > nodeCount, tableSize <= maximumTableSize, isPrime(tableSize) else {
            throw HashRingError(
                .invalidTableSize,
                "maglev table size \(tableSize) must be a prime greater than the node count (\(nodeCount)) "
                    + "and at most \(maximumTableSize); 65537 and 655373 are good choices")
        }
    }

    static func isPrime(_ n: Int) -> Bool {
        if n < 2 { return false }
        if n < 4 { return true }
        if n % 2 == 0 || n % 3 == 0 { return false }
        var divisor = 5
        while divisor * divisor <= n {
            if n % divisor == 0 || n % (divisor + 2) == 0 { return false }
            divisor += 6
        }
        return true
    }

    static func offset(for node: Endpoint, tableSize: UInt64) -> UInt64 {
        XXH64.hash(node.address, seed: 0x4D61_676C_6576_4F66) % tableSize
    }

    static func skip(for node: Endpoint, tableSize: UInt64) -> UInt64 {
        XXH64.hash(node.address, seed: 0x4D61_676C_6576_536B) % (tableSize - 1) + 1
    }

    /// The population loop of the paper, with weighted turns.
    static func populate(tableSize: Int, offsets: [UInt64], skips: [UInt64], weights: [Double]) -> [UInt32] {
        let empty = UInt32.max
        let size = UInt64(tableSize)
        var table = [UInt32](repeating: empty, count: tableSize)
        let maxWeight = weights.max() ?? 1
        let normalized = weights.map { $0 / maxWeight }
        var next = [UInt64](repeating: 0, count: offsets.count)
        var claimed = [Double](repeating: 0, count: offsets.count)
        var filled = 0
        var round = 1.0
        while filled < tableSize {
            for node in 0..<offsets.count where filled < tableSize {
                // A node of weight w claims a slot in round r only while claims < r × w / w_max.
                guard Double(round) * normalized[node] > claimed[node] else { continue }
                claimed[node] += 1
                var slot = Int((offsets[node] &+ next[node] &* skips[node]) % size)
                while table[slot] != empty {
                    next[node] += 1
                    slot = Int((offsets[node] &+ next[node] &* skips[node]) % size)
                }
                table[slot] = UInt32(node)
                next[node] += 1
                filled += 1
            }
            round += 1
        }
        return table
    }

    @inline(__always)
    func slot(forHash hash: UInt64) -> Int {
        Mix64.reduce(hash, into: tableSize)
    }

    /// The index of the node for a 64-bit key hash (XXH64 of the key, seed 0).
    @inline(__always)
    public func index(forHash hash: UInt64) -> Int {
        table.withUnsafeBufferPointer { Int($0[slot(forHash: hash)]) }
    }

    public func index(forKeyBytes key: UnsafeRawBufferPointer) -> Int {
        index(forHash: XXH64.hash(key))
    }

    public func indices(forKeyBytes key: UnsafeRawBufferPointer, count: Int) -> [Int] {
        var replicas = DistinctNodes(wanted: count, nodeCount: nodes.count)
        guard !replicas.isFull else { return [] }
        walk(fromHash: XXH64.hash(key)) { node in
            replicas.offer(node)
            return !replicas.isFull
        }
        return replicas.filled()
    }

    /// Calls `visit` with the owner of each slot from the key's slot onwards, wrapping, until
    /// it returns `false` or every slot has been visited once.
    func walk(fromHash hash: UInt64, _ visit: (Int) -> Bool) {
        var slot = slot(forHash: hash)
        for _ in 0..<tableSize {
            if !visit(Int(table[slot])) { return }
            slot = slot + 1 == tableSize ? 0 : slot + 1
        }
    }

    /// Number of slots each node owns, by node index.
    public var slotCounts: [Int] {
        var counts = [Int](repeating: 0, count: nodes.count)
        for owner in table { counts[Int(owner)] += 1 }
        return counts
    }

    /// The table size for `nodeCount` nodes: the fixed one, or the automatic one.
    private func tableSize(forNodeCount nodeCount: Int) -> Int {
        isTableSizeAutomatic ? Self.automaticTableSize(forNodeCount: nodeCount) : tableSize
    }

    /// Adds a node and refills the table; no other node is hashed again unless an automatic
    /// table size changes with the new node count.
    public func adding(_ node: Endpoint) throws(HashRingError) -> MaglevTable {
        let grown = nodes + [node]
        try HashRingError.validate(grown, algorithm: "maglev")
        guard tableSize(forNodeCount: grown.count) == tableSize else {
            return try MaglevTable(validated: grown, fixedTableSize: nil)
        }
        try Self.validate(tableSize: tableSize, nodeCount: grown.count)
        let size = UInt64(tableSize)
        return MaglevTable(
            validated: grown, tableSize: tableSize, automatic: isTableSizeAutomatic,
            offsets: offsets + [Self.offset(for: node, tableSize: size)],
            skips: skips + [Self.skip(for: node, tableSize: size)])
    }

    /// Removes a node and refills the table; no other node is hashed again unless an automatic
    /// table size changes with the new node count.
    public func removing(address: String) throws(HashRingError) -> MaglevTable {
        let index = try HashRingError.index(of: address, in: nodes)
        let shrunk = nodes.removing(at: index)
        guard tableSize(forNodeCount: shrunk.count) == tableSize else {
            return try MaglevTable(validated: shrunk, fixedTableSize: nil)
        }
        return MaglevTable(
            validated: shrunk, tableSize: tableSize, automatic: isTableSizeAutomatic,
            offsets: offsets.removing(at: index), skips: skips.removing(at: index))
    }
}
