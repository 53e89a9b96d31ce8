extension EmbeddedLock: LockListing {
    public func heldLocks() async throws -> [HeldLock] {
        let now = clock.now().nanoseconds
        return state.withLock { entries in
            entries.compactMap { name, entry -> HeldLock? in
                guard let holder = entry.holder, holder.expiresAt > now else { return nil }
                return HeldLock(
                    name: name, fencingToken: holder.fencing, expiresIn: .nanoseconds(holder.expiresAt - now),
                    waiters: entry.waiters.count)
            }
        }.sorted { $0.name < $1.name }
    }
}
