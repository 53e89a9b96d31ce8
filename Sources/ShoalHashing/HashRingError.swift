import ShoalCore

/// Why a placement could not be built or changed. The ``description`` names the node or value
/// at fault and what to do.
public struct HashRingError: Error, Hashable, Sendable {
    /// What went wrong. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable {
        fileprivate enum Base: Hashable, Sendable {
            case emptyNodeSet, duplicateNode, invalidWeight, unsupportedWeight, unknownNode
            case invalidPointsPerNode, invalidTableSize, invalidLoadFactor, tooManyNodes
        }
        fileprivate let base: Base
        fileprivate init(_ base: Base) { self.base = base }

        /// No nodes were given, or the last one would be removed.
        public static let emptyNodeSet = Code(.emptyNodeSet)
        /// Two nodes have the same address.
        public static let duplicateNode = Code(.duplicateNode)
        /// A weight is not a finite number greater than zero.
        public static let invalidWeight = Code(.invalidWeight)
        /// The algorithm cannot honour weights (jump hash) and a weight is not 1.
        public static let unsupportedWeight = Code(.unsupportedWeight)
        /// No node has the address given for removal.
        public static let unknownNode = Code(.unknownNode)
        /// The number of points per node is out of range.
        public static let invalidPointsPerNode = Code(.invalidPointsPerNode)
        /// The Maglev table size is not a prime larger than the node count.
        public static let invalidTableSize = Code(.invalidTableSize)
        /// The bounded-load factor is not a finite number ≥ 1.
        public static let invalidLoadFactor = Code(.invalidLoadFactor)
        /// More nodes than the algorithm supports.
        public static let tooManyNodes = Code(.tooManyNodes)
    }

    /// What went wrong.
    public let code: Code
    /// A sentence naming the value at fault and what to do.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}

extension HashRingError: CustomStringConvertible {
    public var description: String { message }
}

extension HashRingError {
    /// Checks what every placement needs of its nodes: at least one, valid weights, and no
    /// two with the same address.
    static func validate(_ nodes: [Endpoint], allowsWeights: Bool = true, algorithm: String) throws(HashRingError) {
        guard !nodes.isEmpty else {
            throw HashRingError(.emptyNodeSet, "the node set is empty: give at least one node")
        }
        guard nodes.count <= Int(UInt32.max) else {
            throw HashRingError(.tooManyNodes, "\(nodes.count) nodes is more than \(UInt32.max)")
        }
        var seen = Set<String>(minimumCapacity: nodes.count)
        for node in nodes {
            guard node.weight.isFinite, node.weight > 0 else {
                throw HashRingError(
                    .invalidWeight, "node \(node.address) has weight \(node.weight): weights must be finite and > 0")
            }
            if !allowsWeights && node.weight != 1 {
                throw HashRingError(
                    .unsupportedWeight,
                    "node \(node.address) has weight \(node.weight), but \(algorithm) cannot honour weights: "
                        + "use ring64, rendezvous or maglev for weighted nodes")
            }
            guard seen.insert(node.address).inserted else {
                throw HashRingError(.duplicateNode, "node \(node.address) is given more than once")
            }
        }
    }

    /// The index of `address` in `nodes`, or a typed error naming it.
    static func index(of address: String, in nodes: [Endpoint]) throws(HashRingError) -> Int {
        guard let index = nodes.firstIndex(where: { $0.address == address }) else {
            throw HashRingError(.unknownNode, "no node has address \(address)")
        }
        guard nodes.count > 1 else {
            throw HashRingError(.emptyNodeSet, "cannot remove \(address): it is the last node")
        }
        return index
    }
}
