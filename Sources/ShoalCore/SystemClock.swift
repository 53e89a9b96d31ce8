#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The system's monotonic clock (`CLOCK_MONOTONIC`): nanosecond resolution.
public struct SystemClock: MonotonicClock {
    public init() {}

    public func now() -> MonotonicInstant {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return MonotonicInstant(nanoseconds: Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec))
    }
}

/// The system's coarse monotonic clock (`CLOCK_MONOTONIC_COARSE` on Linux): resolution of a
/// scheduler tick (1–4 ms), read in a few nanoseconds. For decay and ejection timing on hot
/// paths, where a millisecond does not matter and a 20 ns clock read does. On other systems it
/// is ``SystemClock``.
public struct CoarseSystemClock: MonotonicClock {
    public init() {}

    public func now() -> MonotonicInstant {
        var time = timespec()
        #if os(Linux)
            clock_gettime(CLOCK_MONOTONIC_COARSE, &time)
        #else
            clock_gettime(CLOCK_MONOTONIC, &time)
        #endif
        return MonotonicInstant(nanoseconds: Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec))
    }
}
