import ShoalCore

/// Whether a service's blocking queries pause before they wait, so that in a burst of
/// changes each answer carries many of them.
///
/// A blocking query is answered as soon as its service changes, and its client asks again at
/// once. In a burst of registrations (thousands a second), each client would make a request
/// every few changes, each a whole HTTP exchange for the server: at 10,000 registrations into
/// one service, those requests were about a fifth of what three such clients added to a
/// registration's cost.
///
/// The service's rate of change is measured from the index its answers carry, over windows
/// of at least ``window`` (50 ms), so that two changes that happen to come close together do
/// not make a burst. Above ``EventPacing/burstRate`` (500 changes a second), a query pauses
/// ``pause`` (32 ms, an event stream's longest pause) before it waits, and is answered with
/// everything that changed meanwhile: each client gets about 30 answers a second. Below it,
/// there is no pause: each change is answered as it happens. The first query after a burst
/// may still pause once.
///
/// The index is the registry's: with etcd it counts every change in the cluster, so changes
/// of other services count towards a burst too.
struct BlockingQueryPacing: Sendable {
    /// The pause before waiting, in a burst: 32 ms.
    static let pause = EventPacing.maximum
    /// The shortest time over which the rate is measured: 50 ms.
    static let window = Duration.milliseconds(50)

    /// The index and time the current window started at.
    private var windowStart: (index: UInt64, at: MonotonicInstant)?
    /// Whether the last whole window saw more than ``EventPacing/burstRate`` changes a second.
    private(set) var inBurst = false

    /// A query was answered with the service at `index`, at `now`.
    mutating func answered(index: UInt64, at now: MonotonicInstant) {
        guard let start = windowStart else {
            windowStart = (index, now)
            return
        }
        let elapsed = now - start.at
        guard elapsed >= Self.window else { return }
        let changes = index > start.index ? Double(index - start.index) : 0
        inBurst = changes > EventPacing.burstRate * Double(elapsed.totalNanoseconds) / 1e9
        windowStart = (index, now)
    }

    /// How long a query pauses before it waits for a change.
    var pauseBeforeWaiting: Duration { inBurst ? Self.pause : .zero }
}
