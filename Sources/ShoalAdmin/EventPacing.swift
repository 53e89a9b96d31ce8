import ShoalCore
import ShoalDiscovery

/// How long an event stream pauses after each event, so that changes arriving during the
/// pause go out together as one event.
///
/// The stream measures how fast changes come: the instances an event names over the time
/// since the stream took the one before. Up to ``burstRate`` (500 a second), it pauses
/// ``minimum`` (2 ms), so each change goes out alone, as soon as it happens. Above it, a
/// burst of registrations, each event doubles the pause up to ``maximum`` (32 ms): a watcher
/// then gets about 30 events a second, each naming a hundred instances or more, not 500
/// small ones. The first event that comes slower brings the pause back to the minimum.
///
/// Each event costs the server a wake-up and a write, and the watcher a parse, however
/// small it is: at 500 events a second to ten watchers, these were a third of what a
/// registration cost.
///
/// A stream of snapshots (`?snapshots=true`) counts one per event, so it pauses the minimum.
struct EventPacing {
    /// The pause while changes come at most ``burstRate`` a second: 2 ms.
    static let minimum = Duration.milliseconds(2)
    /// The longest pause, in a burst: 32 ms.
    static let maximum = Duration.milliseconds(32)
    /// Instances named a second above which the stream is in a burst: 500.
    static let burstRate = 500.0

    /// The pause after the last event.
    private(set) var pause = EventPacing.minimum

    /// The pause after an event naming `instances`, taken `elapsed` after the event before
    /// (`nil` for the stream's first).
    mutating func pause(afterEventNaming instances: Int, takenAfter elapsed: Duration?) -> Duration {
        if let elapsed, Double(instances) > Self.burstRate * Double(elapsed.totalNanoseconds) / 1e9 {
            pause = min(pause * 2, Self.maximum)
        } else {
            pause = Self.minimum
        }
        return pause
    }

    /// The instances an event names: those a change upserts or removes; one for a snapshot.
    static func instances(of event: ServiceEvent) -> Int {
        switch event {
        case .change(let change): change.upserted.count + change.removed.count
        case .snapshot: 1
        }
    }
}
