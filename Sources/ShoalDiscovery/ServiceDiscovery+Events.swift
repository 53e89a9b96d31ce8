import ShoalCore
import Synchronization

extension ServiceDiscovery {
    /// Changes derived from ``subscribe(_:)``'s snapshots: the first as a snapshot, then what
    /// differs from the one before (ignoring renewals), and a snapshot again when staleness
    /// flips or the index goes back.
    public func watch(_ service: String) -> AsyncStream<ServiceEvent> {
        let differ = SnapshotDiffer(snapshots: subscribe(service).makeAsyncIterator())
        return AsyncStream(unfolding: { await differ.next() })
    }

    public func changes(
        _ service: String, after index: UInt64, wait: Duration, clock: any MonotonicClock = SystemClock()
    ) async throws -> ServiceEvent {
        try await changesWatching(service, after: index, wait: wait, clock: clock)
    }

    /// ``changes(_:after:wait:clock:)`` for a registry that keeps recent changes: `logged()`
    /// answers from them when it can (`nil`: nothing after `index` yet, or no state known yet);
    /// otherwise it waits on `watch(index)`, a watch that is told the whole
    /// state only if it is not the state at `index`, and asks `logged()` again if a change
    /// slipped in before the watch began. Nothing here reads or builds the whole service
    /// unless the caller's index calls for it.
    package func changes(
        _ service: String, after index: UInt64, wait: Duration, clock: any MonotonicClock,
        logged: () -> ServiceEvent?, watch: (UInt64) -> AsyncStream<ServiceEvent>
    ) async throws -> ServiceEvent {
        if let answer = logged() { return answer }
        guard let event = try await Self.firstEvent(after: index, of: watch(index), within: wait, clock: clock) else {
            return logged() ?? .change(ServiceChange(service: service, index: index, upserted: [], removed: []))
        }
        guard case .snapshot(let snapshot) = event, snapshot.index > index else { return event }
        return logged() ?? event
    }

    /// ``changes(_:after:wait:clock:)`` from a watch begun now: the changes are known only
    /// when the watch starts at `index` itself.
    func changesWatching(
        _ service: String, after index: UInt64, wait: Duration, clock: any MonotonicClock
    ) async throws -> ServiceEvent {
        if let event = try await Self.firstEvent(after: index, of: watch(service), within: wait, clock: clock) {
            return event
        }
        let now = try await lookup(service)
        guard now.index == index, !now.isStale else { return .snapshot(now) }
        return .change(ServiceChange(service: service, index: index, upserted: [], removed: []))
    }

    /// The first event of `events` that says something to a watcher that knows the state at
    /// `index` (a snapshot of that very state says nothing), or `nil` when `wait` ends first.
    static func firstEvent(
        after index: UInt64, of events: AsyncStream<ServiceEvent>, within wait: Duration, clock: any MonotonicClock
    ) async throws -> ServiceEvent? {
        try await first(of: events, within: wait, clock: clock) { event in
            guard case .snapshot(let snapshot) = event else { return true }
            return snapshot.index != index || snapshot.isStale
        }
    }

    /// The first element of `elements` that `matches`, or `nil` when `wait` ends on `clock` first
    /// (or the stream ends): the race behind every blocking query.
    static func first<Element: Sendable>(
        of elements: AsyncStream<Element>, within wait: Duration, clock: any MonotonicClock,
        where matches: @escaping @Sendable (Element) -> Bool
    ) async throws -> Element? {
        try await withThrowingTaskGroup(of: Element?.self) { group in
            group.addTask {
                for await element in elements where matches(element) { return element }
                return nil
            }
            group.addTask {
                try await clock.sleep(until: clock.now() + wait)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}

extension AsyncStream where Element == ServiceSnapshot {
    /// Snapshots built from a watch's events, each change applied to the snapshot before: a
    /// reader that falls behind is given the newest state, built from merged changes.
    public static func applying(_ events: AsyncStream<ServiceEvent>) -> AsyncStream<ServiceSnapshot> {
        let applier = ChangeApplier(events: events.makeAsyncIterator())
        return AsyncStream(unfolding: { await applier.next() })
    }
}

/// Turns a watch's events into snapshots.
///
/// `@unchecked Sendable`: it is touched only from `AsyncStream(unfolding:)`'s closure, which
/// the stream calls from its single reader, one call at a time.
private final class ChangeApplier: @unchecked Sendable {
    private var events: AsyncStream<ServiceEvent>.Iterator
    private var last: ServiceSnapshot?

    init(events: AsyncStream<ServiceEvent>.Iterator) {
        self.events = events
    }

    func next() async -> ServiceSnapshot? {
        while let event = await events.next() {
            switch event {
            case .snapshot(let snapshot):
                last = snapshot
                return snapshot
            case .change(let change):
                guard let base = last else { continue }  // a change before any snapshot: never sent
                let applied = base.applying(change)
                last = applied
                return applied
            }
        }
        return nil
    }
}

/// Turns snapshots into a watch's events.
///
/// `@unchecked Sendable`: as ``ChangeApplier``, touched only by a stream's single reader.
private final class SnapshotDiffer: @unchecked Sendable {
    private var snapshots: AsyncStream<ServiceSnapshot>.Iterator
    private var last: ServiceSnapshot?

    init(snapshots: AsyncStream<ServiceSnapshot>.Iterator) {
        self.snapshots = snapshots
    }

    func next() async -> ServiceEvent? {
        while let snapshot = await snapshots.next() {
            defer { last = snapshot }
            guard let last, last.isStale == snapshot.isStale, snapshot.index >= last.index else {
                return .snapshot(snapshot)
            }
            let change = last.changes(to: snapshot)
            if change.isEmpty && snapshot.index == last.index { continue }
            return .change(change)
        }
        return nil
    }
}
