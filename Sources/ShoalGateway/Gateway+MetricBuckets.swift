extension Gateway {
    /// The name of the histogram of request durations, for a metrics backend that takes
    /// buckets per metric (swift-prometheus's `durationHistogramBuckets`).
    public static let requestDurationMetric = "shoal_gateway_request_duration_seconds"

    /// Buckets for ``requestDurationMetric``: from half a millisecond, since a gateway's
    /// requests on a local network often take less than the 5 ms where common defaults start,
    /// to 10 seconds. `shoal serve` uses them.
    public static let requestDurationBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]
}
