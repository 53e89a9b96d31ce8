import PropertyBased
import ShoalCore
import ShoalTesting
import Testing

@testable import ShoalDiscovery

/// The watchers of a service learnt from a store: what they are told for each state or
/// change, and what a blocking query gets from the changes kept.
@Suite("Service watchers")
struct ServiceWatchersTests {
    /// A mailbox and its events, read without waiting.
    struct Watcher {
        let mailbox: ServiceEventMailbox
        var events: AsyncStream<ServiceEvent>.Iterator

        init() {
            let (mailbox, stream) = ServiceEventMailbox.make {}
            self.mailbox = mailbox
            events = stream.makeAsyncIterator()
        }

        mutating func next() async -> ServiceEvent? {
            await events.next()
        }
    }

    @Test("changes told one by one and states read whole agree: watchers applying them hold what the store holds")
    func changesAndStatesAgree() async {
        await propertyCheck(count: 60, input: Gen.uint64()) { seed in
            var sets = InstanceSets(seed: seed)
            var watchers = ServiceWatchers()
            var watcher = Watcher()
            watchers.add(watcher.mailbox, id: 1)
            var store = sets.snapshot(index: 1)
            watchers.publish(store, resync: false)
            guard case .snapshot(var held)? = await watcher.next() else {
                Issue.record("the first event is not the state")
                return
            }
            var generator = SplitMix64(seed: seed)
            for step in 2...12 {
                let next = sets.snapshot(index: UInt64(step))
                if generator.next() % 2 == 0 {
                    let told = watchers.publish(store.changes(to: next))
                    #expect(told)
                } else {
                    watchers.publish(next, resync: false)
                }
                store = next
                switch await watcher.next() {
                case .snapshot(let snapshot)?: held = snapshot
                case .change(let change)?: held = held.applying(change)
                case nil: Issue.record("the stream ended")
                }
                #expect(held == store, "step \(step)")
            }
            let current = watchers.current()
            #expect(current == store)
            let atTwelve = watchers.last?.index == 12
            #expect(atTwelve)
        }
    }

    @Test("the changes since the last fold may name 1,024 instances, or half the service if more")
    func foldLimit() {
        #expect(ServiceWatchers.foldLimit(serviceSize: 0) == 1024)
        #expect(ServiceWatchers.foldLimit(serviceSize: 2000) == 1024)
        #expect(ServiceWatchers.foldLimit(serviceSize: 10000) == 5000)
    }

    @Test("a new watcher is told the whole state, unless it knows the state at the current index")
    func newWatchers() async throws {
        var watchers = ServiceWatchers()
        let first = ServiceSnapshot(service: "payments", index: 3, instances: [try instance("p1")])
        watchers.publish(first, resync: false)
        let toldFour = watchers.publish(
            ServiceChange(service: "payments", index: 4, upserted: [try instance("p2")], removed: []))
        #expect(toldFour)
        var told = Watcher()
        watchers.add(told.mailbox, id: 1)
        #expect(
            await told.next()
                == .snapshot(
                    first.applying(
                        ServiceChange(
                            service: "payments", index: 4, upserted: [try instance("p2")], removed: []))))
        var knowing = Watcher()
        watchers.add(knowing.mailbox, id: 2, knowing: 4)
        let toldFive = watchers.publish(ServiceChange(service: "payments", index: 5, upserted: [], removed: ["p1"]))
        #expect(toldFive)
        #expect(
            await knowing.next() == .change(ServiceChange(service: "payments", index: 5, upserted: [], removed: ["p1"]))
        )
    }

    @Test("a stale state, one whose index went back, or a resync is told whole; a change on a stale one is refused")
    func resyncs() async throws {
        var watchers = ServiceWatchers()
        var watcher = Watcher()
        watchers.add(watcher.mailbox, id: 1)
        let fresh = ServiceSnapshot(service: "payments", index: 7, instances: [try instance("p1")])
        watchers.publish(fresh, resync: false)
        _ = await watcher.next()
        let stale = ServiceSnapshot(service: "payments", index: 7, instances: fresh.instances, isStale: true)
        watchers.publish(stale, resync: false)
        #expect(await watcher.next() == .snapshot(stale))
        let toldOnStale = watchers.publish(ServiceChange(service: "payments", index: 8, upserted: [], removed: ["p1"]))
        #expect(!toldOnStale)
        let lost = ServiceSnapshot(service: "payments", index: 2, instances: [])
        watchers.publish(lost, resync: true)
        #expect(await watcher.next() == .snapshot(lost))
    }

    @Test("a blocking query gets the changes since its index while they are kept, else the state")
    func blockingQueries() throws {
        var watchers = ServiceWatchers()
        let unknown = watchers.changes(after: 0, service: "payments")
        #expect(unknown == nil, "nothing known yet")
        watchers.publish(ServiceSnapshot(service: "payments", index: 10, instances: []), resync: false)
        for index in 11...13 {
            let told = watchers.publish(
                ServiceChange(
                    service: "payments", index: UInt64(index), upserted: [try instance("p\(index)")], removed: []))
            #expect(told)
        }
        let since = watchers.changes(after: 11, service: "payments")
        #expect(
            since
                == .change(
                    ServiceChange(
                        service: "payments", index: 13, upserted: [try instance("p12"), try instance("p13")],
                        removed: [])))
        let nothingNew = watchers.changes(after: 13, service: "payments")
        #expect(nothingNew == nil, "nothing new")
        guard case .snapshot(let ahead)? = watchers.changes(after: 99, service: "payments"), ahead.index == 13 else {
            Issue.record("an index past the state's is not this store's: it gets the whole state at once")
            return
        }
        guard case .snapshot(let whole)? = watchers.changes(after: 9, service: "payments") else {
            Issue.record("an index from before the changes kept gets the whole state")
            return
        }
        #expect(whole.instances.map(\.id) == ["p11", "p12", "p13"] && whole.index == 13)
    }
}

@Suite("What a registry caches of a service, and continuity in changes")
struct CachedServiceTests {
    @Test("a cached service updated by changes equals one built from the state after them")
    func cachedServiceFollowsChanges() async {
        await propertyCheck(count: 100, input: Gen.uint64()) { seed in
            var sets = InstanceSets(seed: seed)
            let before = sets.snapshot(index: 1)
            let after = sets.snapshot(index: 2)
            var cached = CachedService(before, ttls: [:])
            cached.apply(before.changes(to: after), ttls: [:])
            #expect(cached.snapshot(service: "payments", isStale: false) == after)
            #expect(cached.index == 2)
        }
    }

    @Test("changes are recorded in what they name unless instances may have to be kept after a disruption")
    func continuityRecordsChanges() throws {
        var continuity = RegistryContinuity()
        let start = MonotonicInstant(nanoseconds: 0)
        let p1 = try instance("p1")
        let snapshot = ServiceSnapshot(service: "payments", index: 1, instances: [p1])
        _ = continuity.merge(snapshot, ttls: ["p1": .seconds(10)], at: start)
        let added = ServiceChange(service: "payments", index: 2, upserted: [try instance("p2")], removed: [])
        let recorded = continuity.record(added, ttls: ["p2": .seconds(10)], at: start)
        #expect(recorded)
        continuity.disrupted(at: start + .seconds(1))
        let removed = ServiceChange(service: "payments", index: 3, upserted: [], removed: ["p1"])
        let soonAfter = continuity.record(removed, ttls: [:], at: start + .seconds(2))
        #expect(!soonAfter, "p1 may be kept for its TTL")
        let later = continuity.record(removed, ttls: [:], at: start + .seconds(12))
        #expect(later, "every TTL has passed")
    }
}
