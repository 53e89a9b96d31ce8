import ServiceLifecycle

extension RedisLock: Service {
    /// Runs the pool's upkeep (``RedisConnectionPool/run()``: health pings, idle clean-up,
    /// and with sentinels the move to a new primary as soon as one is announced) and the
    /// subscriber's reconnection (``RedisSubscriber/run()``) until graceful shutdown or
    /// cancellation, then closes the pool and the subscriber (``close()``).
    /// Locks work without it, but then a command on a connection to a primary that was
    /// partitioned away waits out its time-out first, and after a lost subscriber
    /// connection waiters hear of releases only by polling, every ``fallbackInterval``.
    public func run() async throws {
        do {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await self.pool.run() }
                group.addTask { try await self.subscriber.run() }
            }
        } catch {
            await close()
            throw error
        }
        await close()
    }
}
