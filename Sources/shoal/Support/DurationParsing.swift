import ShoalCore

/// Reads durations written as a number and a unit: `500ms`, `10s`, `1.5m`, `2h`.
enum DurationParsing {
    /// - Throws: ``UsageError`` naming `flag` when `text` is not a duration.
    static func parse(_ text: String, flag: String) throws(UsageError) -> Duration {
        guard let duration = Duration(parsing: text) else {
            throw UsageError("\(flag) must be a duration such as 500ms, 10s, 1.5m or 2h, not '\(text)'")
        }
        return duration
    }
}
