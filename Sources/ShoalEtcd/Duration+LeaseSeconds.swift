extension Duration {
    /// The duration in whole seconds, rounded up: the TTL of an etcd lease that lasts at
    /// least this long.
    var leaseSeconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds + (attoseconds > 0 ? 1 : 0)
    }
}
