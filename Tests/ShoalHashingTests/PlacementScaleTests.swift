import PropertyBased
import ShoalCore
import ShoalTesting
import Testing

@testable import ShoalHashing

/// The defaults that follow the node count, and the continuum build that keeps large rings in
/// bounded memory.
@Suite("Placement at scale")
struct PlacementScaleTests {
    @Test("the bucketed continuum build orders points as sorting (point, owner) pairs does, ties included")
    func continuumMatchesSortedPairs() async {
        await propertyCheck(count: 40, input: Gen.int(in: 1...40), Gen.int(in: 0...60), Gen.uint64()) {
            nodeCount, pointsPerNode, seed in
            var generator = SplitMix(seed: seed)
            // Points from a narrow range, so that buckets hold many points and points repeat.
            let spread = UInt64(1 + generator.next() % 64)
            let nodePoints = (0..<nodeCount).map { _ in
                (0..<pointsPerNode).map { _ -> UInt64 in
                    let high: UInt64 = (generator.next() % spread) << 58
                    return high | generator.next() % 3
                }
            }
            var pairs: [(point: UInt64, owner: UInt32)] = []
            for (node, points) in nodePoints.enumerated() {
                for point in points { pairs.append((point, UInt32(node))) }
            }
            pairs.sort { $0.point != $1.point ? $0.point < $1.point : $0.owner < $1.owner }
            let continuum = Continuum<UInt64>(nodePoints: nodePoints)
            #expect(continuum.points == pairs.map(\.point))
            #expect(continuum.owners == pairs.map(\.owner))
            for probe in (0..<50).map({ _ in generator.next() }) + continuum.points {
                let expected = pairs.firstIndex { $0.point >= probe } ?? 0
                #expect(continuum.position(atOrAfter: probe) == expected)
            }
        }
    }

    @Test("Maglev's automatic table gives each node at least 100 slots, in doublings up to the cap")
    func maglevAutomaticSizes() {
        let sizes = [1, 100, 655, 656, 1_310, 1_311, 10_000, 10_486, 167_772, 1_000_000].map {
            MaglevTable.automaticTableSize(forNodeCount: $0)
        }
        #expect(
            sizes == [65537, 65537, 65537, 131_101, 131_101, 262_147, 1_048_583, 2_097_169, 16_777_259, 16_777_259])
        #expect(MaglevTable.automaticTableSize(forNodeCount: 1_000_000) == MaglevTable.largestAutomaticTableSize)
    }

    @Test("ring64's automatic points per node keep the ring within its point budget")
    func ring64AutomaticPoints() {
        let counts = [1, 100, 4_096, 4_097, 10_000, 100_000, 5_000_000].map {
            Ring64.automaticPointsPerNode(forNodeCount: $0)
        }
        #expect(counts == [1024, 1024, 1024, 1023, 419, 41, 1])
    }

    @Test(
        "a placement grown or shrunk across an automatic size change equals one built from scratch",
        arguments: [(HashRing.Algorithm.maglev, 655), (.ring64, 4_096)])
    func crossingAnAutomaticSize(algorithm: HashRing.Algorithm, count: Int) throws {
        let nodes = PlacementFixtures.nodes(count + 1, seed: 7)
        let keys = PlacementFixtures.keys(3_000, seed: 7)
        let small = try HashRing(nodes: Array(nodes.dropLast()), algorithm: algorithm)
        let large = try HashRing(nodes: nodes, algorithm: algorithm)
        #expect(Self.size(of: small) != Self.size(of: large), "the chosen count must cross a size change")

        let grown = try small.adding(nodes.last!)
        #expect(Self.size(of: grown) == Self.size(of: large))
        #expect(PlacementFixtures.owners(grown, keys) == PlacementFixtures.owners(large, keys))

        let shrunk = try large.removing(address: nodes.last!.address)
        #expect(Self.size(of: shrunk) == Self.size(of: small))
        #expect(PlacementFixtures.owners(shrunk, keys) == PlacementFixtures.owners(small, keys))
    }

    @Test("an explicit size stays whatever the node count", arguments: [HashRing.Algorithm.maglev, .ring64])
    func explicitSizeStays(algorithm: HashRing.Algorithm) throws {
        let nodes = PlacementFixtures.nodes(657, seed: 3)
        let options = HashRing.Options(pointsPerNode: 64, tableSize: 65537)
        let ring = try HashRing(nodes: Array(nodes.dropLast()), algorithm: algorithm, options: options)
        let grown = try ring.adding(nodes.last!)
        #expect(Self.size(of: grown) == Self.size(of: ring))
        #expect(Self.size(of: grown) == (algorithm == .maglev ? 65537 : 64))
    }

    /// Maglev's table size or ring64's points per node.
    static func size(of ring: HashRing) -> Int? {
        switch ring.placement {
        case let table as MaglevTable: table.tableSize
        case let ring as Ring64: ring.pointsPerNode
        default: nil
        }
    }
}
