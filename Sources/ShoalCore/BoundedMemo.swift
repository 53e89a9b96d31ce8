import Synchronization

/// Values remembered by key, up to a limit, for work that hot paths would otherwise repeat
/// (writing an instance's JSON, decoding a registration). When full it forgets everything and
/// starts afresh: no order to keep, and the next round of keys fills it again at once.
package final class BoundedMemo<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    /// The most values held.
    package let limit: Int
    private let values: Mutex<[Key: Value]>

    package init(limit: Int) {
        self.limit = limit
        values = Mutex([:])
    }

    package subscript(key: Key) -> Value? {
        values.withLock { $0[key] }
    }

    /// Remembers `value` for `key`, forgetting everything first if the memo is full.
    package func remember(_ value: Value, for key: Key) {
        values.withLock { values in
            if values.count >= limit { values.removeAll(keepingCapacity: true) }
            values[key] = value
        }
    }
}
