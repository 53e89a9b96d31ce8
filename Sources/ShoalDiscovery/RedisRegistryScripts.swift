import ShoalRedis

/// The keys of the Redis registry, under a prefix (`shoal:registry:` by default).
///
/// - `<prefix>services`: a set of the service names that have had instances;
/// - `<prefix>expiries`: a sorted set of `<service>/<id>` by expiry (server time, ms);
/// - `<prefix>svc:<service>`: a hash of id → the registration as JSON (address, port,
///   weight, zone, metadata, TTL);
/// - `<prefix>health:<service>` and `<prefix>registered:<service>`: hashes of id → health,
///   and id → registration time (ms since 1970, server time);
/// - `<prefix>index:<service>`: the service's change counter, started from the server's
///   clock in microseconds, so indexes keep increasing even after Redis loses its data (as
///   long as the server's clock does not go back);
/// - channel `<prefix>changes`: after every change, a notice of the index before and after and
///   of the instances changed, as stored (`RedisRegistryNotice`).
struct RedisRegistryKeys: Sendable {
    let prefix: String

    var services: String { prefix + "services" }
    var expiries: String { prefix + "expiries" }
    var changes: String { prefix + "changes" }

    /// The keys the per-service scripts take, in their order.
    func service(_ name: String) -> [String] {
        [
            prefix + "svc:" + name, prefix + "health:" + name, prefix + "registered:" + name, prefix + "index:" + name,
            expiries, services,
        ]
    }
}

/// The registry's Lua scripts: each change and its notice are one atomic step.
enum RedisRegistryScripts {
    /// Shared by the scripts that change a service: bump its index and publish it with the
    /// index before and the lines naming the instances (`RedisRegistryNotice`). Indexes are
    /// published as Redis stores them, and times with `%d`: Lua would print a number of 16
    /// digits in exponent form.
    private static let bump = """
        local function upserted(id, health, registered, expiry, json)
          return '+' .. id .. '\\t' .. health .. '\\t' .. string.format('%d', registered) .. '\\t'
            .. string.format('%d', expiry) .. '\\t' .. json
        end
        local function bump(service, channel, names)
          local previous = redis.call('GET', KEYS[4]) or '0'
          local index = redis.call('INCR', KEYS[4])
          if index == 1 then
            local time = redis.call('TIME')
            redis.call('SET', KEYS[4], time[1] .. string.format('%06d', tonumber(time[2])))
          end
          local text = redis.call('GET', KEYS[4])
          redis.call('PUBLISH', channel, service .. ' ' .. text .. ' ' .. previous .. '\\n' .. names)
          return tonumber(text)
        end
        local function now()
          local time = redis.call('TIME')
          return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        end

        """

    /// KEYS: service keys. ARGV: service, id, registration JSON, health, ttl ms, channel.
    /// Stores or refreshes the instance. Returns {changed (1/0), index, registered at ms, now ms}.
    static let register = RedisScript(
        bump + """
            local member = ARGV[1] .. '/' .. ARGV[2]
            local t = now()
            local expiry = redis.call('ZSCORE', KEYS[5], member)
            local alive = expiry and tonumber(expiry) > t
            local same = alive and redis.call('HGET', KEYS[1], ARGV[2]) == ARGV[3]
              and redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[4]
            local registered = alive and tonumber(redis.call('HGET', KEYS[3], ARGV[2])) or t
            redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
            redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
            redis.call('HSET', KEYS[3], ARGV[2], registered)
            redis.call('ZADD', KEYS[5], t + tonumber(ARGV[5]), member)
            redis.call('SADD', KEYS[6], ARGV[1])
            if same then return {0, tonumber(redis.call('GET', KEYS[4]) or '0'), registered, t} end
            local line = upserted(ARGV[2], ARGV[4], registered, t + tonumber(ARGV[5]), ARGV[3])
            return {1, bump(ARGV[1], ARGV[6], line), registered, t}
            """)

    /// KEYS: service keys. ARGV: service, id.
    /// Extends a live instance by the TTL it was registered with. Returns {1, now ms} or
    /// {0, now ms} when unknown or expired.
    static let renew = RedisScript(
        bump + """
            local member = ARGV[1] .. '/' .. ARGV[2]
            local t = now()
            local expiry = redis.call('ZSCORE', KEYS[5], member)
            local stored = redis.call('HGET', KEYS[1], ARGV[2])
            if not expiry or not stored or tonumber(expiry) <= t then return {0, t} end
            local ttl = cjson.decode(stored).ttlMilliseconds
            redis.call('ZADD', KEYS[5], t + ttl, member)
            return {1, t}
            """)

    /// KEYS: service keys. ARGV: service, id, channel. Returns 1 if it was there.
    static let deregister = RedisScript(
        bump + """
            local removed = redis.call('HDEL', KEYS[1], ARGV[2])
            redis.call('HDEL', KEYS[2], ARGV[2])
            redis.call('HDEL', KEYS[3], ARGV[2])
            redis.call('ZREM', KEYS[5], ARGV[1] .. '/' .. ARGV[2])
            if removed == 0 then return 0 end
            bump(ARGV[1], ARGV[3], '-' .. ARGV[2])
            return 1
            """)

    /// KEYS: service keys. ARGV: service, id, health, channel.
    /// Returns {1, changed (1/0)} or {0, 0} when unknown or expired.
    static let setHealth = RedisScript(
        bump + """
            local expiry = redis.call('ZSCORE', KEYS[5], ARGV[1] .. '/' .. ARGV[2])
            if not expiry or tonumber(expiry) <= now() then return {0, 0} end
            if redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[3] then return {1, 0} end
            redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
            local json = redis.call('HGET', KEYS[1], ARGV[2])
            local registered = tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0')
            bump(ARGV[1], ARGV[4], upserted(ARGV[2], ARGV[3], registered, tonumber(expiry), json))
            return {1, 1}
            """)

    /// KEYS: service keys. ARGV: service.
    /// Returns {index, now ms, {id, json, health, registered ms, expiry ms}...} for live instances.
    static let lookup = RedisScript(
        bump + """
            local t = now()
            local result = {tonumber(redis.call('GET', KEYS[4]) or '0'), t}
            local all = redis.call('HGETALL', KEYS[1])
            for i = 1, #all, 2 do
              local id = all[i]
              local expiry = redis.call('ZSCORE', KEYS[5], ARGV[1] .. '/' .. id)
              if expiry and tonumber(expiry) > t then
                table.insert(result, {id, all[i + 1], redis.call('HGET', KEYS[2], id) or 'passing',
                  tonumber(redis.call('HGET', KEYS[3], id) or '0'), tonumber(expiry)})
              end
            end
            return result
            """)

    /// KEYS: service keys. ARGV: service, then ids. Returns those of the ids that are not
    /// live instances: not stored, or past their expiry. (HGET, not HEXISTS: the ACL users
    /// that `RedisACL` describes may run only what the scripts already called.)
    static let absentIDs = RedisScript(
        """
        local time = redis.call('TIME')
        local t = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local result = {}
        for i = 2, #ARGV do
          local id = ARGV[i]
          local expiry = redis.call('ZSCORE', KEYS[5], ARGV[1] .. '/' .. id)
          if not redis.call('HGET', KEYS[1], id) or not expiry or tonumber(expiry) <= t then
            table.insert(result, id)
          end
        end
        return result
        """)

    /// KEYS: service keys. ARGV: service, then ids.
    /// Returns {index, now ms, {id, json, health, registered ms, expiry ms}...} for those of the
    /// ids that are live: what a watcher reads after a notice that names them.
    static let lookupInstances = RedisScript(
        """
        local time = redis.call('TIME')
        local t = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local result = {tonumber(redis.call('GET', KEYS[4]) or '0'), t}
        for i = 2, #ARGV do
          local id = ARGV[i]
          local json = redis.call('HGET', KEYS[1], id)
          local expiry = redis.call('ZSCORE', KEYS[5], ARGV[1] .. '/' .. id)
          if json and expiry and tonumber(expiry) > t then
            table.insert(result, {id, json, redis.call('HGET', KEYS[2], id) or 'passing',
              tonumber(redis.call('HGET', KEYS[3], id) or '0'), tonumber(expiry)})
          end
        end
        return result
        """)

    /// KEYS: expiries. ARGV: prefix, channel, limit.
    /// Removes up to `limit` expired instances of any service, bumping each service once.
    /// Returns how many were removed. (It touches keys it derives from the prefix, so the
    /// registry needs a standalone Redis, not a cluster.)
    static let sweep = RedisScript(
        """
        local time = redis.call('TIME')
        local t = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', t, 'LIMIT', 0, tonumber(ARGV[3]))
        local touched = {}
        for _, member in ipairs(expired) do
          local slash = string.find(member, '/', 1, true)
          local service = string.sub(member, 1, slash - 1)
          local id = string.sub(member, slash + 1)
          redis.call('ZREM', KEYS[1], member)
          redis.call('HDEL', ARGV[1] .. 'svc:' .. service, id)
          redis.call('HDEL', ARGV[1] .. 'health:' .. service, id)
          redis.call('HDEL', ARGV[1] .. 'registered:' .. service, id)
          touched[service] = touched[service] or {}
          table.insert(touched[service], '-' .. id)
        end
        for service, names in pairs(touched) do
          local key = ARGV[1] .. 'index:' .. service
          local previous = redis.call('GET', key) or '0'
          local index = redis.call('INCR', key)
          if index == 1 then
            redis.call('SET', key, time[1] .. string.format('%06d', tonumber(time[2])))
          end
          local text = redis.call('GET', key)
          redis.call('PUBLISH', ARGV[2], service .. ' ' .. text .. ' ' .. previous .. '\\n' .. table.concat(names, '\\n'))
        end
        return #expired
        """)
}
