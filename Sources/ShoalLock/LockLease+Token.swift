extension LockLease {
    /// 128 random bits from the system's generator, as 32 hex digits: a holding's secret.
    static func randomToken() -> String {
        var random = SystemRandomNumberGenerator()
        return hex(random.next()) + hex(random.next())
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// Checks the arguments every backend takes: a name that is not empty and a positive
    /// time-to-live. For lock services outside this module.
    public static func validate(_ name: String, ttl: Duration) throws(LockError) {
        guard !name.isEmpty else { throw LockError(.invalidArgument, "a lock needs a name") }
        guard ttl > .zero else { throw LockError(.invalidArgument, "ttl must be positive, not \(ttl)") }
    }
}
