extension Duration {
    /// A duration written as a number and a unit: `500ms`, `10s`, `1.5m`, `2h`; `nil` for
    /// anything else (no unit, a negative number, more than a year).
    ///
    /// ```swift
    /// Duration(parsing: "1.5s")   // 1.5 seconds
    /// ```
    public init?(parsing text: String) {
        let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, seconds) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            guard let value = Double(number), value.isFinite, value >= 0, value * seconds <= 365 * 86_400,
                number.allSatisfy({ $0.isNumber || $0 == "." })
            else { return nil }
            self = .nanoseconds(Int64((value * seconds * 1e9).rounded()))
            return
        }
        return nil
    }
}
