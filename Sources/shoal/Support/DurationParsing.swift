/// Reads durations written as a number and a unit: `500ms`, `10s`, `1.5m`, `2h`.
enum DurationParsing {
    /// - Throws: ``UsageError`` naming `flag` when `text` is not a duration.
    static func parse(_ text: String, flag: String) throws(UsageError) -> Duration {
        let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, seconds) in units where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count)), value.isFinite, value >= 0,
                value * seconds <= 365 * 86_400
            else { break }
            return .nanoseconds(Int64((value * seconds * 1e9).rounded()))
        }
        throw UsageError("\(flag) must be a duration such as 500ms, 10s, 1.5m or 2h, not '\(text)'")
    }
}
