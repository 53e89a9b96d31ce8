import ShoalRedis

/// The keys and channel of one lock on Redis.
///
/// - `<prefix><name>`: the holder's token, with the lease's time-to-live;
/// - `<prefix><name>:fence`: the fencing counter (kept: it must never count down);
/// - `<prefix><name>:queue` and `:queue:deadlines`: the waiters in line and when each
///   one's place lapses unless it checks in again;
/// - channel `<prefix><name>:released`: a release or a departure from the head of the
///   line publishes the id of the waiter whose turn it is.
struct RedisLockKeys: Sendable {
    let lock: String
    let fence: String
    let queue: String
    let deadlines: String
    let channel: String

    init(prefix: String, name: String) {
        lock = prefix + name
        fence = lock + ":fence"
        queue = lock + ":queue"
        deadlines = lock + ":queue:deadlines"
        channel = lock + ":released"
    }
}

/// The Lua scripts of ``RedisLock``. Each runs atomically on the server, so checking the
/// holder and changing the lock are one step.
enum RedisLockScripts {
    /// Takes the lock if it is free and the caller is first in line (or nobody is in line).
    /// Otherwise puts the caller in line (when it gives a waiter id) or refreshes its place.
    ///
    /// KEYS: lock, fence, queue, deadlines. ARGV: token, ttl ms, waiter id ('' to not
    /// queue), place time-to-live ms.
    /// Returns {1, fencing token} or {0, the holder's remaining ms, or -1 if not held}.
    ///
    /// With nobody in line, it is one `SET NX PX` and an `INCR`. Otherwise places whose
    /// deadline passed (waiters that crashed or stalled) are dropped from the head of the
    /// line first. A new fencing counter starts from the server's clock in microseconds, so
    /// tokens keep increasing even after Redis loses its data, as long as the server's clock
    /// does not go back.
    static let acquire = RedisScript(
        """
        local function granted()
          local fence = redis.call('INCR', KEYS[2])
          if fence == 1 then
            local time = redis.call('TIME')
            fence = tonumber(time[1] .. string.format('%06d', tonumber(time[2])))
            redis.call('SET', KEYS[2], time[1] .. string.format('%06d', tonumber(time[2])))
          end
          return {1, fence}
        end
        if redis.call('EXISTS', KEYS[3]) == 0 then
          if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return granted() end
          if ARGV[3] == '' then return {0, redis.call('PTTL', KEYS[1])} end
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
        end
        local waiter = ARGV[3]
        local head = redis.call('LINDEX', KEYS[3], 0)
        if redis.call('EXISTS', KEYS[1]) == 0 and (not head or head == waiter) then
          if head then
            redis.call('LPOP', KEYS[3])
            redis.call('ZREM', KEYS[4], waiter)
          end
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
          return granted()
        end
        if waiter ~= '' then
          if not redis.call('ZSCORE', KEYS[4], waiter) then redis.call('RPUSH', KEYS[3], waiter) end
          redis.call('ZADD', KEYS[4], now + tonumber(ARGV[4]), waiter)
          redis.call('PEXPIRE', KEYS[3], ARGV[4])
          redis.call('PEXPIRE', KEYS[4], ARGV[4])
        end
        return {0, redis.call('PTTL', KEYS[1])}
        """)

    /// Deletes the lock if the token holds it and tells the next in line, if any. (A waiter
    /// joins the line in the same script that finds the lock held, so an empty line means
    /// nobody needs telling.)
    ///
    /// KEYS: lock, queue. ARGV: token, channel. Returns 1 if released, 0 if not held.
    static let release = RedisScript(
        """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        redis.call('DEL', KEYS[1])
        local head = redis.call('LINDEX', KEYS[2], 0)
        if head then redis.call('PUBLISH', ARGV[2], head) end
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

    /// Takes a waiter out of line; if it was first, tells the next one.
    ///
    /// KEYS: queue, deadlines. ARGV: waiter id, channel.
    static let leave = RedisScript(
        """
        local head = redis.call('LINDEX', KEYS[1], 0)
        redis.call('LREM', KEYS[1], 0, ARGV[1])
        redis.call('ZREM', KEYS[2], ARGV[1])
        if head == ARGV[1] then
          redis.call('PUBLISH', ARGV[2], redis.call('LINDEX', KEYS[1], 0) or '')
        end
        return 1
        """)
}
