#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Calendar time, for timestamps people read (registration times). Never for measuring
/// intervals: use a ``MonotonicClock`` for those.
public protocol WallClock: Sendable {
    /// Milliseconds since 1970-01-01 00:00:00 UTC.
    func millisecondsSinceEpoch() -> Int64
}

/// The system's calendar clock (`CLOCK_REALTIME`).
public struct SystemWallClock: WallClock {
    public init() {}

    public func millisecondsSinceEpoch() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}

extension ManualClock: WallClock {
    /// The manual clock's reading, taken as milliseconds since 1970, so tests control
    /// timestamps and intervals with one clock.
    public func millisecondsSinceEpoch() -> Int64 {
        now().nanoseconds / 1_000_000
    }
}
