extension RedisRegistryNotice.Row {
    /// The instance this row stores under `id`, with its time-to-live; `nil` for a row that
    /// cannot be read (its JSON, health or fields are not an instance's).
    func instance(service: String, id: String) -> (instance: ServiceInstance, ttl: Duration)? {
        guard let stored = StoredRegistration.decode(json), let health = HealthStatus(rawValue: health),
            var instance = try? ServiceInstance(
                service: service, id: id, address: stored.address, port: stored.port, weight: stored.weight,
                zone: stored.zone, metadata: stored.metadata, health: health)
        else { return nil }
        instance.registeredAt = registeredAt
        instance.renewedAt = expiresAt - stored.ttlMilliseconds
        return (instance, .milliseconds(stored.ttlMilliseconds))
    }
}

extension RedisRegistryNotice {
    /// What a watcher that knows the service at `index` learns from this notice alone: the
    /// change, with the time-to-live of each instance upserted. `nil` when the watcher must
    /// read Redis: the notice does not follow on from `index`, names more instances than a
    /// change may, or names an instance without carrying it.
    func carriedChange(from index: UInt64) -> (change: ServiceChange, ttls: [String: Duration])? {
        let plan = Self.plan([self], from: index, limit: ServiceEventMailbox.defaultLimit)
        guard case .apply(let index, let carried, let toRead, let removed) = plan, toRead.isEmpty else { return nil }
        return Self.change(service: service, index: index, carried: carried, read: [], ttls: [:], removed: removed)
    }

    /// The change that a plan's ``Plan/apply(index:carried:toRead:removed:)`` makes: the
    /// instances `read` (with their `ttls`) and those `carried` are upserted. An instance
    /// named but neither read nor readable is gone, and so are those `removed`.
    static func change(
        service: String, index: UInt64, carried: [Upsert], read: [ServiceInstance], ttls: [String: Duration],
        toRead: [String] = [], removed: [String]
    ) -> (change: ServiceChange, ttls: [String: Duration]) {
        var upserted = read
        var ttls = ttls
        for upsert in carried {
            guard let (instance, ttl) = upsert.row?.instance(service: service, id: upsert.id) else { continue }
            upserted.append(instance)
            ttls[upsert.id] = ttl
        }
        let present = Set(upserted.map(\.id))
        let gone = (toRead + carried.map(\.id)).filter { !present.contains($0) }
        return (ServiceChange(service: service, index: index, upserted: upserted, removed: removed + gone), ttls)
    }
}
