import NIOCore

/// How many requests a sample service with `--concurrency N` serves at once, and the ones
/// waiting for a slot, first come first served: the queueing regime of
/// `Benchmarks/peers/slow-backend`, where an instance's latency grows with the requests it
/// holds (a request waits for a slot, then takes the service's latency). Without a limit every
/// request starts at once, and the latency is the same however many it holds.
struct SampleServiceSlots<Waiter> {
    /// The most requests served at once; `nil` for no limit.
    let limit: Int?
    /// Requests being served now.
    private(set) var serving = 0
    private var waiting = CircularBuffer<Waiter>()

    init(limit: Int?) {
        precondition(limit.map { $0 > 0 } ?? true, "a concurrency limit is at least 1")
        self.limit = limit
    }

    /// Requests waiting for a slot.
    var queued: Int { waiting.count }

    /// A request is ready to be served: `true` if it starts now; otherwise it waits its turn.
    mutating func arrive(_ waiter: Waiter) -> Bool {
        if let limit, serving >= limit {
            waiting.append(waiter)
            return false
        }
        serving += 1
        return true
    }

    /// A request was answered (or given up): the one that starts in its slot, if any waited.
    mutating func finished() -> Waiter? {
        precondition(serving > 0, "finished more requests than were started")
        if let next = waiting.popFirst() { return next }
        serving -= 1
        return nil
    }
}
