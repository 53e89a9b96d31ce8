import PropertyBased
import ShoalCore
import ShoalTesting
import Testing

@testable import ShoalHashing

@Suite("Bounded loads")
struct BoundedLoadTests {
    static func placement(_ base: String, nodes: Int, seed: UInt64, epsilon: Double) throws -> BoundedLoadPlacement {
        let endpoints = PlacementFixtures.nodes(nodes, seed: seed)
        let kind: BoundedLoadPlacement.Base =
            base == "ring64" ? .ring64(try Ring64(nodes: endpoints)) : .maglev(try MaglevTable(nodes: endpoints))
        return try BoundedLoadPlacement(base: kind, epsilon: epsilon)
    }

    @Test("no node ever exceeds ⌈(1+ε)·m/n⌉ as assignments come and go", arguments: ["ring64", "maglev"])
    func neverExceedsTheCap(base: String) async {
        await propertyCheck(count: 10, input: Gen.int(in: 2...30), Gen.double(in: 0...1), Gen.uint64()) {
            nodes, epsilon, seed in
            await recordingThrows {
                let placement = try Self.placement(base, nodes: nodes, seed: seed, epsilon: epsilon)
                var live: [BoundedLoadPlacement.Assignment] = []
                var random = SplitMix(seed: seed)
                for key in PlacementFixtures.keys(3000, seed: seed) {
                    if !live.isEmpty && random.next() % 3 == 0 {
                        placement.release(live.remove(at: Int(random.next() % UInt64(live.count))))
                    }
                    let assignment = placement.acquire(key)
                    live.append(assignment)
                    let cap = placement.capacity(forLiveCount: placement.liveCount)
                    #expect(placement.loads[assignment.index] <= cap, "node \(assignment.index) over cap \(cap)")
                }
                #expect(placement.loads.reduce(0, +) == live.count)
                #expect(placement.liveCount == live.count)
            }
        }
    }

    @Test("concurrent acquires from many tasks respect the cap and lose no count", arguments: ["ring64", "maglev"])
    func concurrentAcquires(base: String) async throws {
        let placement = try Self.placement(base, nodes: 16, seed: 3, epsilon: 0.1)
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for key in PlacementFixtures.keys(2000, seed: UInt64(task)) {
                        _ = placement.acquire(key)
                    }
                }
            }
        }
        #expect(placement.liveCount == 16_000)
        #expect(placement.loads.reduce(0, +) == 16_000)
        #expect(placement.loads.max()! <= placement.capacity(forLiveCount: 16_000))
    }

    @Test("a key stays on its consistent-hash node while that node has room")
    func prefersTheConsistentOwner() throws {
        let nodes = PlacementFixtures.nodes(10, seed: 5)
        let ring = try Ring64(nodes: nodes)
        let placement = try BoundedLoadPlacement(base: .ring64(ring), epsilon: 10)
        for key in PlacementFixtures.keys(500, seed: 5) {
            #expect(placement.acquire(key).index == ring.index(for: key))
        }
    }

    @Test("ε must be finite and ≥ 0")
    func rejectsBadEpsilon() throws {
        let ring = try Ring64(nodes: PlacementFixtures.nodes(3, seed: 1))
        #expect(throws: HashRingError.self) { try BoundedLoadPlacement(base: .ring64(ring), epsilon: -0.1) }
        #expect(throws: HashRingError.self) { try BoundedLoadPlacement(base: .ring64(ring), epsilon: .nan) }
    }
}
