/// What `wrk` does to its latencies before it prints them, so that simulated percentiles can
/// be set beside `wrk`'s.
///
/// `wrk` corrects for coordinated omission: a connection that waited for a slow answer did not
/// send the requests it would have sent meanwhile, so their latencies are missing. After the
/// run it takes the expected interval between two requests on a connection (the run's length
/// over the requests per connection) and, for each latency of at least twice that, adds one
/// sample at the latency minus one interval, minus two, and so on while above one interval.
/// Only the measured latencies beget samples, not the added ones.
enum WrkCorrection {
    /// `latencies` (any order, in milliseconds) with `wrk`'s added samples.
    static func corrected(_ latencies: [Double], intervalMilliseconds interval: Double) -> [Double] {
        guard interval > 0, interval.isFinite else { return latencies }
        var all = latencies
        for latency in latencies where latency >= 2 * interval {
            var added = latency - interval
            while added > interval {
                all.append(added)
                added -= interval
            }
        }
        return all
    }
}
