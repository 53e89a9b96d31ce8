import PropertyBased
import ShoalCore
import ShoalTesting
import Testing

@testable import ShoalDiscovery

/// Random instance sets for the change properties, from a seed.
struct InstanceSets {
    private var generator: SplitMix64

    init(seed: UInt64) {
        generator = SplitMix64(seed: seed)
    }

    /// Up to `ids` instances with ids from a small pool, so that sets overlap, and ports that
    /// differ now and then, so that kept ids change.
    mutating func snapshot(index: UInt64, ids: UInt64 = 12) -> ServiceSnapshot {
        var chosen: [ServiceInstance] = []
        for id in 0..<ids where generator.next() % 2 == 0 {
            chosen.append(try! instance("i\(id)", port: 8000 + Int(generator.next() % 3)))
        }
        return ServiceSnapshot(service: "payments", index: index, instances: chosen.sorted { $0.id < $1.id })
    }
}

@Suite("Service changes")
struct ServiceChangeTests {
    @Test("applying the difference of two snapshots to the first gives the second")
    func applyingDifferences() async {
        await propertyCheck(count: 200, input: Gen.uint64()) { seed in
            var sets = InstanceSets(seed: seed)
            let before = sets.snapshot(index: 3)
            let after = sets.snapshot(index: 7)
            let change = before.changes(to: after)
            #expect(before.applying(change) == after)
            #expect(change.index == 7)
            #expect(change.count <= before.instances.count + after.instances.count)
            #expect(before.changes(to: before).isEmpty)
        }
    }

    @Test("a merged change does what its parts do one after the other")
    func mergingChanges() async {
        await propertyCheck(count: 200, input: Gen.uint64()) { seed in
            var sets = InstanceSets(seed: seed)
            let snapshots = (1...4).map { sets.snapshot(index: UInt64($0)) }
            let changes = zip(snapshots, snapshots.dropFirst()).map { $0.changes(to: $1) }
            let merged = changes.dropFirst().reduce(changes[0]) { $0.followed(by: $1) }
            #expect(snapshots[0].applying(merged) == snapshots[3])
            #expect(merged.index == 4)
            #expect(Set(merged.removed).isDisjoint(with: merged.upserted.map(\.id)), "an id both upserted and removed")
        }
    }

    @Test("renewals alone are no change")
    func renewalsAreNoChange() throws {
        let first = try instance("p1").stored(registeredAt: 1, renewedAt: 2)
        let renewed = first.stored(registeredAt: 1, renewedAt: 9)
        let before = ServiceSnapshot(service: "payments", index: 1, instances: [first])
        let after = ServiceSnapshot(service: "payments", index: 1, instances: [renewed])
        #expect(before.changes(to: after).isEmpty)
    }

    @Test("the change log gives what changed after any index it still holds, and nil before its floor")
    func changeLog() async {
        await propertyCheck(count: 100, input: Gen.uint64(), Gen.int(in: 1...6)) { seed, capacity in
            var sets = InstanceSets(seed: seed)
            let snapshots = (0...10).map { sets.snapshot(index: UInt64($0 * 2)) }
            var log = ServiceChangeLog(capacity: capacity)
            for (before, after) in zip(snapshots, snapshots.dropFirst()) {
                log.append(before.changes(to: after))
            }
            #expect(log.count == min(capacity, 10))
            for (position, snapshot) in snapshots.enumerated() {
                let held = log.changes(after: snapshot.index, service: "payments")
                if position >= 10 - capacity {
                    #expect(held.map(snapshot.applying) == snapshots[10], "after index \(snapshot.index)")
                } else {
                    #expect(held == nil, "after index \(snapshot.index), below the floor \(log.floor)")
                }
            }
        }
    }

    @Test("the change log drops the oldest changes once they name too many instances")
    func changeLogInstanceCap() throws {
        var log = ServiceChangeLog(capacity: 100, instanceCapacity: 3)
        for index in 1...4 {
            log.append(
                ServiceChange(
                    service: "payments", index: UInt64(index), upserted: [try instance("i\(index)")], removed: []))
        }
        #expect(log.count == 3 && log.floor == 1)
        #expect(log.changes(after: 0, service: "payments") == nil)
        #expect(log.changes(after: 1, service: "payments")?.upserted.map(\.id) == ["i2", "i3", "i4"])
    }
}
