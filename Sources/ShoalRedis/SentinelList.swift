/// The order in which to ask a primary's sentinels, as the Sentinel client guidelines give
/// it: the one that last answered first, the rest as they were; sentinels that others told
/// of are added at the end, and none is ever forgotten (a sentinel that is down now may be
/// the only one left later).
struct SentinelList: Sendable, Hashable {
    private(set) var addresses: [RedisSentinel.Address]

    init(_ addresses: [RedisSentinel.Address]) {
        self.addresses = []
        learn(addresses)
    }

    /// Puts `address` first.
    mutating func answered(by address: RedisSentinel.Address) {
        addresses.removeAll { $0 == address }
        addresses.insert(address, at: 0)
    }

    /// Adds the sentinels not known yet, at the end.
    mutating func learn(_ others: [RedisSentinel.Address]) {
        for address in others where !addresses.contains(address) {
            addresses.append(address)
        }
    }
}
