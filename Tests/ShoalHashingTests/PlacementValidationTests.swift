import ShoalCore
import ShoalTesting
import Testing

@testable import ShoalHashing

@Suite("Bad input gets a typed error")
struct PlacementValidationTests {
    static let all = HashRing.Algorithm.allCases

    @Test("an empty node set", arguments: all)
    func emptySet(algorithm: HashRing.Algorithm) {
        #expect(caught(HashRingError.self) { _ = try HashRing(nodes: [], algorithm: algorithm) }?.code == .emptyNodeSet)
    }

    @Test("a duplicate address names the node", arguments: all)
    func duplicate(algorithm: HashRing.Algorithm) throws {
        let a = try Endpoint(parsing: "10.0.0.1:11211")
        let b = try Endpoint(parsing: "10.0.0.2:11211")
        let error = caught(HashRingError.self) { _ = try HashRing(nodes: [a, b, a], algorithm: algorithm) }
        #expect(error?.code == .duplicateNode)
        #expect(error?.message.contains("10.0.0.1:11211") == true)
        let ring = try HashRing(nodes: [a], algorithm: algorithm)
        #expect(throws: HashRingError.self) { try ring.adding(a) }
    }

    @Test("a weight that was set invalid after parsing", arguments: all)
    func invalidWeight(algorithm: HashRing.Algorithm) throws {
        for bad in [0, -1, Double.nan, .infinity] {
            var node = try Endpoint(parsing: "10.0.0.1:11211")
            node.weight = bad
            #expect(throws: HashRingError.self) { try HashRing(nodes: [node], algorithm: algorithm) }
        }
    }

    @Test("jump refuses weights it cannot honour")
    func jumpWeights() throws {
        let node = try Endpoint(parsing: "10.0.0.1:1=2")
        #expect(caught(HashRingError.self) { _ = try JumpHash(nodes: [node]) }?.code == .unsupportedWeight)
    }

    @Test("removing an unknown node or the last one")
    func removals() throws {
        let ring = try Ring64(nodes: [try Endpoint(parsing: "10.0.0.1:1")])
        #expect(throws: HashRingError.self) { try ring.removing(address: "10.0.0.9:1") }
        #expect(throws: HashRingError.self) { try ring.removing(address: "10.0.0.1:1") }
    }

    @Test(
        "Maglev table sizes must be primes above the node count",
        arguments: [0, 1, 2, 65536, 65535, MaglevTable.maximumTableSize + 1])
    func maglevTableSize(size: Int) throws {
        let nodes = PlacementFixtures.nodes(3, seed: 1)
        #expect(throws: HashRingError.self) { try MaglevTable(nodes: nodes, tableSize: size) }
    }

    @Test("ring64 points per node must be in range", arguments: [0, -5, Ring64.maximumPointsPerNode + 1])
    func ringPoints(points: Int) {
        #expect(throws: HashRingError.self) {
            try Ring64(nodes: PlacementFixtures.nodes(2, seed: 1), pointsPerNode: points)
        }
    }

    @Test("empty and non-ASCII keys are placed like any other", arguments: all)
    func unusualKeys(algorithm: HashRing.Algorithm) {
        let ring = PlacementFixtures.ring(algorithm, PlacementFixtures.nodes(5, seed: 2))
        for key in ["", "ключ", "🙂🙂", "a\u{0}b", String(repeating: "x", count: 10_000)] {
            let index = ring.index(for: key)
            #expect((0..<5).contains(index))
            #expect(ring.index(for: key) == index)
        }
    }
}
