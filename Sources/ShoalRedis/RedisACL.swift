/// The least a Redis ACL user needs for Shoal: the commands its clients, scripts and
/// subscriptions send, on keys and channels under `shoal:` (the default prefixes of the
/// registry, `shoal:registry:`, and of locks, `shoal:lock:`). `ACL SETUSER NAME on >PASSWORD`
/// followed by these rules makes such a user; Shoal then connects as
/// `redis://NAME:PASSWORD@HOST:PORT` (or the `redis-sentinel://` form).
///
/// Redis checks the commands a Lua script calls against the user that runs the script, so
/// the scripts' commands are listed as well as those sent directly.
public enum RedisACL {
    /// The rules on a data node (the primary and every replica: ACL users are not replicated).
    public static let dataNodeRules: [String] = [
        "resetkeys", "~shoal:*", "resetchannels", "&shoal:*", "-@all",
        // Connection set-up: HELLO 3 with AUTH and SETNAME, SELECT for a database, ROLE to
        // check that a primary the sentinels named is one.
        "+hello", "+client|setname", "+select", "+ping", "+role",
        // Scripts: loaded once, then run by their digest.
        "+evalsha", "+script|load",
        // Sent directly: the registry's list of services, the locks' listing, replication
        // checks, and change notices.
        "+smembers", "+scan", "+wait", "+subscribe", "+unsubscribe",
        // Called from the scripts.
        "+del", "+exists", "+get", "+set", "+incr", "+time", "+pexpire", "+pttl", "+publish",
        "+hget", "+hset", "+hdel", "+hgetall", "+hkeys", "+lindex", "+llen", "+lpop", "+lrem", "+rpush",
        "+sadd", "+zadd", "+zrangebyscore", "+zrem", "+zscore",
    ]

    /// The rules on a sentinel: finding the primary and its sentinels, and hearing of a
    /// failover.
    public static let sentinelRules: [String] = [
        "resetchannels", "&+switch-master", "-@all", "+hello", "+client|setname", "+ping",
        "+sentinel|get-master-addr-by-name", "+sentinel|sentinels", "+subscribe", "+unsubscribe",
    ]
}
