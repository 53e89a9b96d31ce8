/// A change notice as the registry's scripts publish it on `<prefix>changes`:
/// `<service> <index> <previous index> <+id | -id>…`, one `+id` for each instance registered
/// or changed and one `-id` for each removed. Ids never contain spaces (``ServiceInstance``'s
/// names are letters, digits, `.`, `_` and `-`).
///
/// An older `shoal` publishes `<service> <index>` alone: such a notice names no instance and
/// has no previous index, and the watcher reads the whole service.
struct RedisRegistryNotice: Sendable, Equatable {
    let service: String
    let index: UInt64
    /// The service's index before the change; `nil` in an older notice.
    let previous: UInt64?
    let upserted: [String]
    let removed: [String]

    /// Reads a notice, or `nil` when it does not begin with a service and an index.
    init?(_ text: String) {
        let words = text.split(separator: " ")
        guard words.count >= 2, let index = UInt64(words[1]) else { return nil }
        service = String(words[0])
        self.index = index
        previous = words.count > 2 ? UInt64(words[2]) : nil
        var upserted: [String] = []
        var removed: [String] = []
        for word in words.dropFirst(3) {
            switch word.first {
            case "+": upserted.append(String(word.dropFirst()))
            case "-": removed.append(String(word.dropFirst()))
            default: return nil
            }
        }
        self.upserted = upserted
        self.removed = removed
    }

    init(service: String, index: UInt64, previous: UInt64?, upserted: [String] = [], removed: [String] = []) {
        self.service = service
        self.index = index
        self.previous = previous
        self.upserted = upserted
        self.removed = removed
    }

    /// What a watcher that knows the service at `index` does with `notices` (in the order
    /// published): read only the instances they name, when they follow on from `index` one
    /// after the other and name at most `limit` instances; otherwise read the whole service.
    static func plan(_ notices: [RedisRegistryNotice], from index: UInt64?, limit: Int) -> Plan {
        guard var last = index else { return .readAll }
        var upserted = Set<String>()
        var removed = Set<String>()
        for notice in notices where notice.index > last {
            guard notice.previous == last else { return .readAll }
            for id in notice.removed {
                upserted.remove(id)
                removed.insert(id)
            }
            for id in notice.upserted {
                removed.remove(id)
                upserted.insert(id)
            }
            guard upserted.count + removed.count <= limit else { return .readAll }
            last = notice.index
        }
        return .read(index: last, upserted: upserted.sorted(), removed: removed.sorted())
    }

    /// How to catch up with a run of notices.
    enum Plan: Equatable {
        /// Read the instances upserted (those gone by then count as removed), drop those
        /// removed: the service is then at `index`.
        case read(index: UInt64, upserted: [String], removed: [String])
        /// Read the whole service.
        case readAll
    }
}
