import NIOCore
import ShoalRESP
import Synchronization

/// Asks a primary's sentinels where it is.
///
/// What each process has learned of a set of sentinels (which answered last, which others
/// exist) is kept here for the process's life, shared by every pool and subscriber of the
/// same ``RedisSentinel``, so one that answered is asked first by all of them.
enum RedisPrimaryLocator {
    private static let lists = Mutex<[RedisSentinel: SentinelList]>([:])

    /// The sentinels of `sentinel`, in the order to ask them now.
    static func order(_ sentinel: RedisSentinel) -> [RedisSentinel.Address] {
        lists.withLock { $0[sentinel]?.addresses ?? SentinelList(sentinel.sentinels).addresses }
    }

    /// The primary's address, from the first sentinel that knows it.
    ///
    /// - Throws: ``RedisError`` with ``RedisError/Code-swift.struct/connectionRefused``
    ///   naming what each sentinel said, when none could.
    static func primary(
        of sentinel: RedisSentinel, group: any EventLoopGroup
    ) async throws(RedisError) -> RedisSentinel.Address {
        var failures: [String] = []
        for address in order(sentinel) {
            let connection: RedisConnection
            do {
                connection = try await RedisConnection.connect(sentinel.configuration(address), group: group)
            } catch {
                failures.append("\(address): \(error)")
                continue
            }
            let replies: [RESPValue]
            do {
                replies = try await connection.pipeline([
                    RESPCommand("SENTINEL", "get-master-addr-by-name", sentinel.primaryName),
                    RESPCommand("SENTINEL", "sentinels", sentinel.primaryName),
                ])
            } catch {
                failures.append("\(address): \(error)")
                await connection.close()
                continue
            }
            await connection.close()
            guard let primary = Self.address(replies[0]) else {
                failures.append("\(address) answered \(replies[0].string ?? "no address") for '\(sentinel.primaryName)'")
                continue
            }
            let others = Self.sentinels(replies[1])
            lists.withLock { lists in
                var list = lists[sentinel] ?? SentinelList(sentinel.sentinels)
                list.answered(by: address)
                list.learn(others)
                lists[sentinel] = list
            }
            return primary
        }
        throw RedisError(
            .connectionRefused,
            "no sentinel named the primary '\(sentinel.primaryName)': \(failures.joined(separator: "; "))")
    }

    /// `[host, port]`, as `SENTINEL get-master-addr-by-name` answers.
    static func address(_ reply: RESPValue) -> RedisSentinel.Address? {
        guard case .array(let parts) = reply, parts.count == 2, let host = parts[0].string,
            let port = parts[1].string.flatMap(Int.init), !host.isEmpty, (1...65535).contains(port)
        else { return nil }
        return RedisSentinel.Address(host: host, port: port)
    }

    /// The sentinels in a `SENTINEL sentinels` answer: a map per sentinel with `ip` and
    /// `port` (RESP3), or a flat list of names and values (RESP2).
    static func sentinels(_ reply: RESPValue) -> [RedisSentinel.Address] {
        guard case .array(let entries) = reply else { return [] }
        return entries.compactMap { entry in
            var fields: [String: String] = [:]
            switch entry {
            case .map(let pairs):
                for pair in pairs {
                    if let key = pair.key.string, let value = pair.value.string { fields[key] = value }
                }
            case .array(let flat):
                for index in stride(from: 0, to: flat.count - 1, by: 2) {
                    if let key = flat[index].string, let value = flat[index + 1].string { fields[key] = value }
                }
            default:
                return nil
            }
            guard let host = fields["ip"], let port = fields["port"].flatMap(Int.init) else { return nil }
            return RedisSentinel.Address(host: host, port: port)
        }
    }
}
