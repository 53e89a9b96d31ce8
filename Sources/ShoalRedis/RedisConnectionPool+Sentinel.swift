extension RedisConnectionPool {
    /// Listens to a sentinel for `+switch-master` until cancelled, and drains the pool when
    /// the primary moves. When the sentinel goes away, another is listened to; a failover
    /// announced while none was is found by asking where the primary is now.
    func followFailovers(of sentinel: RedisSentinel) async {
        var failures = 0
        while !Task.isCancelled {
            do {
                let watch = try await RedisSentinelWatch.open(sentinel, group: eventLoop) { [weak self] primary in
                    self?.primaryMoved(to: primary)
                }
                failures = 0
                if let primary = try? await RedisPrimaryLocator.primary(of: sentinel, group: eventLoop) {
                    primaryMoved(to: primary)
                }
                await watch.waitUntilClosed()
            } catch {
                failures += 1
            }
            try? await Task.sleep(for: pool.backoff.delay(attempt: failures))
        }
    }
}
