import ShoalRedis

/// The keys of one lock on Redis.
///
/// - `<prefix><name>`: the holder's token, with the lease's time-to-live;
/// - `<prefix><name>:fence`: the fencing counter (kept: it must never count down);
/// - `<prefix><name>:queue`, `:queue:deadlines` and `:queue:waiters`: the waiters' tokens
///   in line, when each one's place lapses unless it checks in again, and each one's
///   requested time-to-live and notice channel (`"<ttl ms> <channel>"`).
///
/// Notices go to the waiter's own lock service's channel, one per ``RedisLock``, so a
/// hand-over wakes one connection, not every waiting process: `<token> <fencing token>`
/// for a hand-over, `<token>` for "the lock is free and it is your turn".
struct RedisLockKeys: Sendable {
    let lock: String
    let fence: String
    let queue: String
    let deadlines: String
    let waiters: String

    init(prefix: String, name: String) {
        lock = prefix + name
        fence = lock + ":fence"
        queue = lock + ":queue"
        deadlines = lock + ":queue:deadlines"
        waiters = lock + ":queue:waiters"
    }

    /// The keys every script takes, in this order.
    var all: [String] { [lock, fence, queue, deadlines, waiters] }

    /// What the other keys add to a lock's own key. A lock whose name ends in one of these
    /// would share a key with another lock's counter or line, so such names are refused.
    static let suffixes = [":fence", ":queue", ":queue:deadlines", ":queue:waiters"]

    /// Refuses a name whose key is another lock's counter or line.
    static func checkName(_ name: String) throws(LockError) {
        if let suffix = suffixes.first(where: { name.hasSuffix($0) }) {
            throw LockError(
                .invalidArgument,
                "lock names ending in '\(suffix)' are reserved on Redis (another lock's keys end so): rename '\(name)'")
        }
    }
}

/// The Lua scripts of ``RedisLock``. Each runs atomically on the server, so checking the
/// holder and changing the lock are one step.
enum RedisLockScripts {
    /// The Lua function `next_fence()`, which both granting scripts start with: it moves the
    /// counter in `KEYS[2]` to the larger of one more than its value and the server's clock in
    /// microseconds, and returns it.
    ///
    /// The clock is what keeps tokens rising when the counter goes back: a restart from a
    /// snapshot taken before the last grants, a replica promoted before it had them, a
    /// restart with no data. Each token is at most the clock at its grant plus the number
    /// of grants in that microsecond, so after any of these the next token is higher than
    /// every one handed out before, as long as the clock of the server that grants it is not
    /// behind the clock of the one that granted the last, by more than the time between the
    /// two grants (at least a failover's detection time, or a restart's).
    ///
    /// Tokens stay below 2⁵³, so Lua's numbers hold them exactly: the clock reaches that in
    /// the year 2255. The value is written with `%d`, never as a float.
    static let nextFence = """
        local function next_fence()
          local time = redis.call('TIME')
          local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
          local fence = tonumber(redis.call('GET', KEYS[2]) or '0') + 1
          if now > fence then fence = now end
          redis.call('SET', KEYS[2], string.format('%d', fence))
          return fence
        end

        """

    /// Takes the lock if it is free and the caller is first in line (or nobody is in line),
    /// or finds it was handed to the caller. Otherwise puts the caller in line (when asked
    /// to) or refreshes its place.
    ///
    /// KEYS: ``RedisLockKeys/all``. ARGV: token, ttl ms, '1' to join the line ('' not to),
    /// place time-to-live ms, the waiter's notice channel.
    /// Returns {1, fencing token} or {0, the holder's remaining ms, or -1 if not held}.
    ///
    /// With nobody in line, it is one `SET NX PX` and the next fencing token
    /// (``nextFence``). Otherwise places whose deadline passed (waiters that crashed or
    /// stalled) are dropped from the head of the line first.
    static let acquire = RedisScript(
        nextFence + """
        local function granted()
          return {1, next_fence()}
        end
        local token = ARGV[1]
        if redis.call('EXISTS', KEYS[3]) == 0 then
          if redis.call('SET', KEYS[1], token, 'NX', 'PX', ARGV[2]) then return granted() end
          if ARGV[3] == '' then return {0, redis.call('PTTL', KEYS[1])} end
        end
        if redis.call('GET', KEYS[1]) == token then
          return {1, tonumber(redis.call('GET', KEYS[2]))}
        end
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        while true do
          local head = redis.call('LINDEX', KEYS[3], 0)
          if not head then break end
          local deadline = redis.call('ZSCORE', KEYS[4], head)
          if deadline and tonumber(deadline) > now then break end
          redis.call('LPOP', KEYS[3])
          redis.call('ZREM', KEYS[4], head)
          redis.call('HDEL', KEYS[5], head)
        end
        local head = redis.call('LINDEX', KEYS[3], 0)
        if redis.call('EXISTS', KEYS[1]) == 0 and (not head or head == token) then
          if head then
            redis.call('LPOP', KEYS[3])
            redis.call('ZREM', KEYS[4], token)
            redis.call('HDEL', KEYS[5], token)
          end
          redis.call('SET', KEYS[1], token, 'PX', ARGV[2])
          return granted()
        end
        if ARGV[3] ~= '' then
          if not redis.call('ZSCORE', KEYS[4], token) then redis.call('RPUSH', KEYS[3], token) end
          redis.call('ZADD', KEYS[4], now + tonumber(ARGV[4]), token)
          redis.call('HSET', KEYS[5], token, ARGV[2] .. ' ' .. ARGV[5])
          for key = 3, 5 do redis.call('PEXPIRE', KEYS[key], ARGV[4]) end
        end
        return {0, redis.call('PTTL', KEYS[1])}
        """)

    /// If the token holds the lock: hands it to the first waiter whose place has not lapsed
    /// (the key now holds that waiter's token, for the time-to-live it asked for), with the
    /// next fencing token, and publishes `<token> <fencing token>` on that waiter's channel;
    /// or deletes it when nobody waits. A waiter that died in line within its place's
    /// time-to-live may be handed the lock; it then frees when that time-to-live passes, as
    /// for a holder that died.
    ///
    /// KEYS: ``RedisLockKeys/all``. ARGV: token.
    /// Returns 1 if released (or handed over), 0 if the token did not hold it.
    static let release = RedisScript(
        nextFence + """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        if redis.call('EXISTS', KEYS[3]) == 1 then
          local time = redis.call('TIME')
          local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
          while true do
            local head = redis.call('LPOP', KEYS[3])
            if not head then break end
            local deadline = redis.call('ZSCORE', KEYS[4], head)
            local waiter = redis.call('HGET', KEYS[5], head)
            redis.call('ZREM', KEYS[4], head)
            redis.call('HDEL', KEYS[5], head)
            if deadline and waiter and tonumber(deadline) > now then
              local ttl, channel = string.match(waiter, '^(%d+) (.+)$')
              redis.call('SET', KEYS[1], head, 'PX', ttl)
              local fence = next_fence()
              redis.call('PUBLISH', channel, head .. ' ' .. fence)
              return 1
            end
          end
        end
        redis.call('DEL', KEYS[1])
        return 1
        """)

    /// Extends the lock by its time-to-live if the token holds it.
    ///
    /// KEYS: lock. ARGV: token, ttl ms. Returns 1 if extended, 0 if not held.
    static let renew = RedisScript(
        """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        return redis.call('PEXPIRE', KEYS[1], ARGV[2])
        """)

    /// Takes a waiter out of line; if it was first and the lock is free, tells the next
    /// one it is their turn.
    ///
    /// KEYS: ``RedisLockKeys/all``. ARGV: token.
    static let leave = RedisScript(
        """
        local head = redis.call('LINDEX', KEYS[3], 0)
        redis.call('LREM', KEYS[3], 0, ARGV[1])
        redis.call('ZREM', KEYS[4], ARGV[1])
        redis.call('HDEL', KEYS[5], ARGV[1])
        local next = redis.call('LINDEX', KEYS[3], 0)
        if head == ARGV[1] and next and redis.call('EXISTS', KEYS[1]) == 0 then
          local waiter = redis.call('HGET', KEYS[5], next)
          if waiter then
            local _, channel = string.match(waiter, '^(%d+) (.+)$')
            redis.call('PUBLISH', channel, next)
          end
        end
        return 1
        """)

    /// Reads the holders of several locks at once, for listings.
    ///
    /// KEYS: the lock, fence and queue keys of each lock, three per lock.
    /// Returns, per lock: the holder's remaining ms (below 0 when not held), the fencing
    /// counter (a string; '0' if none) and the length of its line.
    static let inspect = RedisScript(
        """
        local out = {}
        for i = 1, #KEYS, 3 do
          out[#out + 1] = redis.call('PTTL', KEYS[i])
          out[#out + 1] = redis.call('GET', KEYS[i + 1]) or '0'
          out[#out + 1] = redis.call('LLEN', KEYS[i + 2])
        end
        return out
        """)
}
