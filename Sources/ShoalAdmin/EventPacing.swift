import ShoalCore
import ShoalDiscovery

/// How long an event stream pauses after each event, so that changes arriving during the
/// pause go out together as one event.
///
/// The stream measures how fast changes come: the instances an event names over the time
/// since the stream took the one before. Up to ``burstRate`` (500 a second), it does not
/// pause: each change goes out alone, as soon as it happens. Above it, a burst of
/// registrations, the pause starts at ``minimum`` (2 ms) and doubles with each event up to
/// ``maximum`` (32 ms): a watcher then gets about 30 events a second, each naming a hundred
/// instances or more, not 500 small ones. The first event that comes slower ends the pause.
///
/// Each event costs the server a wake-up and a write, and the watcher a parse, however
/// small it is: at 500 events a second to ten watchers, these were a third of what a
/// registration cost. A pause costs a timer and a wake-up of its own, so changes that come
/// slower than the burst rate get none.
///
/// A snapshot counts as one instance, and the stream pauses at least ``minimum`` after it:
/// each one is the whole service, so a stream of snapshots (`?snapshots=true`) sends at most
/// 500 a second, as it did when every event paused that long.
struct EventPacing {
    /// The first pause of a burst: 2 ms.
    static let minimum = Duration.milliseconds(2)
    /// The longest pause, in a burst: 32 ms.
    static let maximum = Duration.milliseconds(32)
    /// Instances named a second above which the stream is in a burst: 500.
    static let burstRate = 500.0

    /// The pause after the last event: none outside a burst.
    private(set) var pause = Duration.zero

    /// The pause after an event naming `instances`, taken `elapsed` after the event before
    /// (`nil` for the stream's first).
    mutating func pause(afterEventNaming instances: Int, takenAfter elapsed: Duration?) -> Duration {
        if let elapsed, Double(instances) > Self.burstRate * Double(elapsed.totalNanoseconds) / 1e9 {
            pause = pause == .zero ? Self.minimum : min(pause * 2, Self.maximum)
        } else {
            pause = .zero
        }
        return pause
    }

    /// The pause after `event`, taken `elapsed` after the event before (`nil` for the
    /// stream's first): at least ``minimum`` after a snapshot.
    mutating func pause(after event: ServiceEvent, takenAfter elapsed: Duration?) -> Duration {
        let pause = pause(afterEventNaming: Self.instances(of: event), takenAfter: elapsed)
        guard case .snapshot = event else { return pause }
        return max(pause, Self.minimum)
    }

    /// The instances an event names: those a change upserts or removes; one for a snapshot.
    static func instances(of event: ServiceEvent) -> Int {
        switch event {
        case .change(let change): change.upserted.count + change.removed.count
        case .snapshot: 1
        }
    }
}
