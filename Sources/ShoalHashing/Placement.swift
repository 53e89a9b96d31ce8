import ShoalCore

/// A way of placing keys on nodes that is stable across processes, machines and Swift versions.
///
/// Every placement is an immutable `Sendable` value: reads take no lock and allocate nothing
/// (except ``indices(forKeyBytes:count:)``, which returns an array), so one value can be shared
/// by any number of threads. Changing the node set returns a new value and reuses the hashes
/// already computed for the nodes that stay.
///
/// Use ``HashRing`` to choose an algorithm at run time, or a concrete placement
/// (``KetamaRing``, ``Ring64``, ``JumpHash``, ``RendezvousHash``, ``MaglevTable``) directly.
public protocol Placement: Sendable {
    /// The nodes, in the order they were given. Indices returned by lookups index this array.
    var nodes: [Endpoint] { get }

    /// The index in ``nodes`` of the node that owns `key`.
    func index(forKeyBytes key: UnsafeRawBufferPointer) -> Int

    /// The indices of `min(count, nodes.count)` distinct nodes for `key`, owner first.
    ///
    /// The order after the owner is each algorithm's own and is documented on it.
    func indices(forKeyBytes key: UnsafeRawBufferPointer, count: Int) -> [Int]

    /// A placement with `node` added.
    ///
    /// - Throws: ``HashRingError`` when a node with the same address is already present or
    ///   the node cannot be placed by this algorithm (for example a weight jump cannot honour).
    func adding(_ node: Endpoint) throws(HashRingError) -> Self

    /// A placement without the node whose ``Endpoint/address`` is `address`.
    ///
    /// - Throws: ``HashRingError`` when no such node exists or it is the last one.
    func removing(address: String) throws(HashRingError) -> Self
}

extension Placement {
    /// The index in ``nodes`` of the node that owns `key` (its UTF-8 bytes).
    @inlinable
    public func index(for key: String) -> Int {
        withUTF8Bytes(of: key) { index(forKeyBytes: $0) }
    }

    /// The node that owns `key`.
    ///
    /// ```swift
    /// let ring = try Ring64(nodes: [a, b, c])
    /// ring.node(for: "user:42")   // one of a, b, c; the same one in every process
    /// ```
    @inlinable
    public func node(for key: String) -> Endpoint {
        nodes[index(for: key)]
    }

    /// `min(count, nodes.count)` distinct nodes for `key`, owner first: a replica set.
    @inlinable
    public func nodes(for key: String, count: Int) -> [Endpoint] {
        withUTF8Bytes(of: key) { indices(forKeyBytes: $0, count: count) }.map { nodes[$0] }
    }
}
