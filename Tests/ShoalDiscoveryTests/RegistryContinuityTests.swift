import ShoalCore
import Testing

@testable import ShoalDiscovery

@Suite("What watchers see when the registry's store loses data")
struct RegistryContinuityTests {
    private func instance(_ id: String) throws -> ServiceInstance {
        try ServiceInstance(service: "api", id: id, address: "10.0.0.7", port: 8000)
    }

    private func snapshot(_ index: UInt64, _ ids: [String]) throws -> ServiceSnapshot {
        ServiceSnapshot(service: "api", index: index, instances: try ids.map(instance))
    }

    private func ids(_ snapshot: ServiceSnapshot) -> [String] { snapshot.instances.map(\.id) }

    @Test("without a disruption, an instance that goes missing goes at once")
    func plainRemoval() throws {
        var continuity = RegistryContinuity()
        let start = MonotonicInstant(nanoseconds: 0)
        let ttls: [String: Duration] = ["a": .seconds(3), "b": .seconds(3)]
        #expect(ids(continuity.merge(try snapshot(5, ["a", "b"]), ttls: ttls, at: start)) == ["a", "b"])
        #expect(ids(continuity.merge(try snapshot(6, ["a"]), ttls: ttls, at: start + .seconds(1))) == ["a"])
        #expect(continuity.nextRelease == nil)
    }

    @Test("after a disruption, missing instances are kept for their TTL, and go once it passes unless they come back")
    func keptThroughADisruption() throws {
        var continuity = RegistryContinuity()
        let start = MonotonicInstant(nanoseconds: 0)
        let ttls: [String: Duration] = ["a": .seconds(3), "b": .seconds(5), "c": .seconds(3)]
        _ = continuity.merge(try snapshot(40, ["a", "b", "c"]), ttls: ttls, at: start)
        continuity.disrupted(at: start + .seconds(1))  // Redis came back empty
        let empty = continuity.merge(try snapshot(0, []), ttls: [:], at: start + .milliseconds(1100))
        #expect(ids(empty) == ["a", "b", "c"])
        #expect(empty.index == 0)
        #expect(continuity.nextRelease == start + .seconds(4))
        // "a" registers again; "c" never does.
        let back = continuity.merge(try snapshot(1, ["a"]), ttls: ["a": .seconds(3)], at: start + .seconds(2))
        #expect(ids(back) == ["a", "b", "c"])
        #expect(ids(continuity.merge(try snapshot(1, ["a"]), ttls: [:], at: start + .seconds(4))) == ["a", "b"])
        #expect(continuity.nextRelease == start + .seconds(6))
        #expect(ids(continuity.merge(try snapshot(1, ["a"]), ttls: [:], at: start + .seconds(6))) == ["a"])
        #expect(continuity.nextRelease == nil)
        // Long after the disruption, a removal is a removal again.
        #expect(ids(continuity.merge(try snapshot(2, []), ttls: [:], at: start + .seconds(20))) == [])
    }
}
