import ServiceLifecycle

extension RedisLock: Service {
    /// Runs the pool's upkeep (``RedisConnectionPool/run()``: health pings, idle clean-up,
    /// and with sentinels the move to a new primary as soon as one is announced) until
    /// graceful shutdown or cancellation, then closes the pool and the subscriber (``close()``).
    /// Locks work without it, but then a command on a connection to a primary that was
    /// partitioned away waits out its time-out first.
    public func run() async throws {
        try await pool.run()
        await close()
    }
}
