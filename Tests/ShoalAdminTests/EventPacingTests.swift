import ShoalDiscovery
import Testing

@testable import ShoalAdmin

@Suite("Event pacing")
struct EventPacingTests {
    @Test("changes at up to 500 a second go out alone, with no pause")
    func keepingUp() {
        var pacing = EventPacing()
        #expect(pacing.pause(afterEventNaming: 1, takenAfter: nil) == .zero)
        // 100 changes a second, each alone; then 400, a few of them two at a time.
        for _ in 0..<10 { #expect(pacing.pause(afterEventNaming: 1, takenAfter: .milliseconds(10)) == .zero) }
        for _ in 0..<10 { #expect(pacing.pause(afterEventNaming: 2, takenAfter: .milliseconds(5)) == .zero) }
    }

    @Test("a burst pauses 2 ms, then doubles the pause up to 32 ms and holds it; the first slower event ends it")
    func burst() {
        var pacing = EventPacing()
        _ = pacing.pause(afterEventNaming: 1, takenAfter: nil)
        // 3,000 changes a second: the first comes 300 µs after the stream's first event, then
        // each event names what came during the pause before it, and the 300 µs.
        #expect(pacing.pause(afterEventNaming: 1, takenAfter: .microseconds(300)) == .milliseconds(2))
        var pauses: [Duration] = []
        for _ in 0..<6 {
            let elapsed = pacing.pause + .microseconds(300)
            let named = Int(3000 * Double(elapsed.totalNanoseconds) / 1e9)
            pauses.append(pacing.pause(afterEventNaming: named, takenAfter: elapsed))
        }
        #expect(pauses == [4, 8, 16, 32, 32, 32].map { Duration.milliseconds($0) })
        // 100 a second again: three changes in the 33 ms since the last event.
        #expect(pacing.pause(afterEventNaming: 3, takenAfter: .milliseconds(33)) == .zero)
    }

    @Test("a snapshot is followed by 2 ms at least: a stream of snapshots sends at most 500 a second")
    func snapshots() throws {
        let instance = try ServiceInstance(service: "web", id: "a", address: "10.0.0.1", port: 80)
        let snapshot = ServiceEvent.snapshot(ServiceSnapshot(service: "web", index: 9, instances: [instance]))
        var pacing = EventPacing()
        #expect(pacing.pause(after: snapshot, takenAfter: nil) == .milliseconds(2))
        for _ in 0..<5 { #expect(pacing.pause(after: snapshot, takenAfter: .microseconds(2100)) == .milliseconds(2)) }
        #expect(pacing.pause(after: snapshot, takenAfter: .milliseconds(50)) == .milliseconds(2))
        // A change after the stream's first snapshot: no pause at 100 changes a second.
        let change = ServiceEvent.change(ServiceChange(service: "web", index: 10, upserted: [instance], removed: []))
        #expect(pacing.pause(after: change, takenAfter: .milliseconds(10)) == .zero)
    }

    @Test("an event names the instances a change upserts or removes, and one for a snapshot")
    func instancesNamed() throws {
        let instance = try ServiceInstance(service: "web", id: "a", address: "10.0.0.1", port: 80)
        let change = ServiceChange(service: "web", index: 9, upserted: [instance], removed: ["b", "c"])
        #expect(EventPacing.instances(of: .change(change)) == 3)
        let snapshot = ServiceSnapshot(service: "web", index: 9, instances: [instance, instance])
        #expect(EventPacing.instances(of: .snapshot(snapshot)) == 1)
    }
}
