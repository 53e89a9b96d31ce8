import ShoalRESP
import ShoalRedis

extension RedisLock: LockListing {
    /// Finds this service's locks with `SCAN` (a page at a time, so Redis is never blocked
    /// for long) and reads each page's holders in one script.
    ///
    /// Locks are found by their fencing counters (`<prefix><name>:fence`), which outlive
    /// their holders; only those with a live holder are listed.
    public func heldLocks() async throws -> [HeldLock] {
        let pattern = Self.globEscaped(keyPrefix) + "*:fence"
        var cursor = "0"
        var names: Set<String> = []
        var held: [HeldLock] = []
        repeat {
            let reply: RESPValue
            do {
                reply = try await pool.send(RESPCommand("SCAN", cursor, "MATCH", pattern, "COUNT", "1000"))
            } catch {
                throw LockError(.backendFailure, "cannot list locks: \(error)")
            }
            guard case .array(let parts) = reply, parts.count == 2, let next = parts[0].string,
                case .array(let keys) = parts[1]
            else {
                throw LockError(.backendFailure, "cannot list locks: SCAN answered \(reply)")
            }
            cursor = next
            let page = keys.compactMap(\.string).map { String($0.dropFirst(keyPrefix.count).dropLast(":fence".count)) }
                .filter { names.insert($0).inserted }  // SCAN may return a key twice
            held += try await holders(of: page)
        } while cursor != "0"
        return held.sorted { $0.name < $1.name }
    }

    /// The live holders among `names`.
    private func holders(of names: [String]) async throws -> [HeldLock] {
        guard !names.isEmpty else { return [] }
        let keys = names.flatMap { name in
            let keys = RedisLockKeys(prefix: keyPrefix, name: name)
            return [keys.lock, keys.fence, keys.queue]
        }
        let reply: RESPValue
        do {
            reply = try await pool.evaluate(RedisLockScripts.inspect, keys: keys)
        } catch {
            throw LockError(.backendFailure, "cannot list locks: \(error)")
        }
        guard case .array(let values) = reply, values.count == names.count * 3 else {
            throw LockError(.backendFailure, "cannot list locks: the script answered \(reply)")
        }
        return names.indices.compactMap { index -> HeldLock? in
            guard case .integer(let milliseconds) = values[index * 3], milliseconds > 0,
                let fencing = values[index * 3 + 1].string.flatMap(UInt64.init),
                case .integer(let waiters) = values[index * 3 + 2]
            else { return nil }
            return HeldLock(
                name: names[index], fencingToken: fencing, expiresIn: .milliseconds(milliseconds), waiters: Int(waiters)
            )
        }
    }

    /// `text` matched literally in a `SCAN MATCH` pattern.
    static func globEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if "*?[]\\".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}
