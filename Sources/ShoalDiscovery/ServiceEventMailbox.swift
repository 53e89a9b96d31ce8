import Synchronization

/// One watcher's events that it has not read yet, coalesced: however far the watcher falls
/// behind, it holds at most one snapshot and one change, so a slow reader costs the registry
/// memory in proportion to what changed, never a queue of events.
///
/// A registry posts under its own lock, so events reach the mailbox in index order. Once the
/// pending change names more than ``limit`` instances, the mailbox asks for a fresh snapshot
/// instead: a watcher that fell that far behind gets the whole service.
package final class ServiceEventMailbox: Sendable {
    /// The most instances a pending change may name before it becomes a snapshot: 1,024.
    package static let defaultLimit = 1024

    package let limit: Int
    private let pending = Mutex(Pending())
    private let doorbell: AsyncStream<Void>.Continuation

    private struct Pending {
        var snapshot: ServiceSnapshot?
        /// What changed after `snapshot`, or after the last event read when there is none.
        var change: ServiceChange.Accumulator?
    }

    /// A mailbox and the stream its reader gets. `onTermination` runs once the stream ends:
    /// finished, cancelled or dropped by its reader.
    package static func make(
        limit: Int = defaultLimit, onTermination: @escaping @Sendable () -> Void
    ) -> (ServiceEventMailbox, AsyncStream<ServiceEvent>) {
        let (bells, doorbell) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        doorbell.onTermination = { _ in onTermination() }
        let mailbox = ServiceEventMailbox(limit: limit, doorbell: doorbell)
        let reader = Reader(mailbox: mailbox, bells: bells.makeAsyncIterator())
        return (mailbox, AsyncStream(unfolding: { await reader.next() }))
    }

    private init(limit: Int, doorbell: AsyncStream<Void>.Continuation) {
        self.limit = limit
        self.doorbell = doorbell
    }

    /// Replaces whatever is pending with `snapshot`.
    package func post(_ snapshot: ServiceSnapshot) {
        pending.withLock { $0 = Pending(snapshot: snapshot) }
        doorbell.yield()
    }

    /// Adds `change` to what is pending, or replaces it all with `current()` when the merged
    /// change would name more than ``limit`` instances.
    package func post(_ change: ServiceChange, current: () -> ServiceSnapshot) {
        pending.withLock { pending in
            if pending.change == nil {
                pending.change = ServiceChange.Accumulator(change)
            } else {
                pending.change?.add(change)
            }
            if let merged = pending.change, merged.count > limit {
                pending = Pending(snapshot: current())
            }
        }
        doorbell.yield()
    }

    /// Ends the stream once its reader has taken what is pending.
    package func finish() {
        doorbell.finish()
    }

    /// Takes what is pending, in order.
    fileprivate func take() -> [ServiceEvent] {
        pending.withLock { pending in
            defer { pending = Pending() }
            return [pending.snapshot.map(ServiceEvent.snapshot), pending.change.map { ServiceEvent.change($0.change) }]
                .compactMap { $0 }
        }
    }

    /// The reading side: waits for the doorbell, then hands out what was pending one event at
    /// a time.
    ///
    /// `@unchecked Sendable`: it is touched only from `AsyncStream(unfolding:)`'s closure, which
    /// the stream calls from its single reader, one call at a time.
    private final class Reader: @unchecked Sendable {
        private let mailbox: ServiceEventMailbox
        private var bells: AsyncStream<Void>.Iterator
        private var ready: [ServiceEvent] = []

        init(mailbox: ServiceEventMailbox, bells: AsyncStream<Void>.Iterator) {
            self.mailbox = mailbox
            self.bells = bells
        }

        func next() async -> ServiceEvent? {
            while ready.isEmpty {
                guard await bells.next() != nil else { return nil }
                ready = mailbox.take()
            }
            return ready.removeFirst()
        }
    }
}
