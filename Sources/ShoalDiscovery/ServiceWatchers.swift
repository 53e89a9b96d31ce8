/// One service's watchers in a registry that learns the service from a store (Redis or etcd),
/// and the changes it told them: each change is worked out once, however many watchers there
/// are, and the recent ones are kept for blocking queries. Lives inside the registry's lock.
///
/// A change costs what it names, not the service's size: the state the watchers were told of is
/// kept as a snapshot plus the changes since, folded into the snapshot only when a new watcher
/// needs the whole of it, a store's read has to be compared with it, or the changes since name
/// more than ``foldLimit(serviceSize:)`` instances: 1,024, or half the service if more, so
/// folding, which copies the whole service, costs each change at most two copies of an
/// instance (folding every 1,024 changes of a 10,000-instance service was a quarter of
/// following them).
package struct ServiceWatchers {
    package private(set) var mailboxes: [Int: ServiceEventMailbox] = [:]
    /// The state the watchers were told of: `base` with `since` applied.
    private var base: ServiceSnapshot?
    private var since: ServiceChange.Accumulator?
    private var log = ServiceChangeLog()

    package init() {}

    package var isEmpty: Bool { mailboxes.isEmpty }
    package var count: Int { mailboxes.count }

    /// The index and staleness of the state the watchers were told of.
    package var last: (index: UInt64, isStale: Bool)? {
        guard let base else { return nil }
        return (max(base.index, since?.index ?? 0), base.isStale)
    }

    /// The state the watchers were told of, whole.
    package mutating func current() -> ServiceSnapshot? {
        if let since, let folded = base?.applying(since.change) { base = folded }
        since = nil
        return base
    }

    /// Adds a watcher and tells it the state, if one is known yet, unless it knows the state
    /// at `index` and that is the state: then it is told only what changes from now on.
    package mutating func add(_ mailbox: ServiceEventMailbox, id: Int, knowing index: UInt64? = nil) {
        mailboxes[id] = mailbox
        if let last, !last.isStale, last.index == index { return }
        if let current = current() { mailbox.post(current) }
    }

    package mutating func remove(id: Int) {
        mailboxes[id] = nil
    }

    /// Tells the watchers of a new state read whole: what changed since the last one, or the
    /// whole of it when there was none, or when `resync` says the change cannot be trusted
    /// (the state went stale or came back, or the store's index went back). Nothing when
    /// nothing changed.
    package mutating func publish(_ snapshot: ServiceSnapshot, resync: Bool) {
        let last = current()
        base = snapshot
        guard let last, !resync, last.isStale == snapshot.isStale, snapshot.index >= last.index else {
            log = ServiceChangeLog(floor: snapshot.index)
            for mailbox in mailboxes.values { mailbox.post(snapshot) }
            return
        }
        let change = last.changes(to: snapshot)
        guard !change.isEmpty || snapshot.index > last.index else { return }
        tell(change)
    }

    /// Tells the watchers of a change to the fresh state they know. `false` (and nothing told)
    /// when they know none, or a stale one, or one as new: read the whole state then.
    @discardableResult
    package mutating func publish(_ change: ServiceChange) -> Bool {
        guard let last, !last.isStale, change.index > last.index else { return false }
        if since == nil {
            since = ServiceChange.Accumulator(change)
        } else {
            since?.add(change)
        }
        if let since, since.count > Self.foldLimit(serviceSize: base?.instances.count ?? 0) { _ = current() }
        tell(change)
        return true
    }

    /// The most instances the changes since the last fold may name: 1,024, or half the
    /// service if that is more.
    static func foldLimit(serviceSize: Int) -> Int {
        max(ServiceEventMailbox.defaultLimit, serviceSize / 2)
    }

    private mutating func tell(_ change: ServiceChange) {
        log.append(change)
        var whole: ServiceSnapshot?
        for mailbox in mailboxes.values {
            mailbox.post(change) {
                if let whole { return whole }
                whole = base.map { base in since.map { base.applying($0.change) } ?? base }
                return whole!
            }
        }
    }

    /// What changed after `index`: from the log while it holds it, the whole state when it
    /// does not or when `index` is past the state's (not one of this store's), `nil` when
    /// nothing changed since or no fresh state is known.
    package mutating func changes(after index: UInt64, service: String) -> ServiceEvent? {
        guard let last, !last.isStale, index != last.index else { return nil }
        guard index < last.index else { return current().map(ServiceEvent.snapshot) }
        guard let change = log.changes(after: index, service: service) else {
            return current().map(ServiceEvent.snapshot)
        }
        return .change(change)
    }

    /// Every watcher's mailbox, to finish outside the lock.
    package var all: [ServiceEventMailbox] { Array(mailboxes.values) }
}
