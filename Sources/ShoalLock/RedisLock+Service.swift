import ServiceLifecycle

extension RedisLock: Service {
    /// Runs the pool's upkeep (``RedisConnectionPool/run()``) until graceful shutdown or
    /// cancellation. Locks work without it, but with sentinels it is what moves the pool to
    /// a new primary as soon as a sentinel announces one: without it, a command on a
    /// connection to a primary that was partitioned away waits out its time-out first.
    public func run() async throws {
        try await pool.run()
    }
}
