import NIOCore
import ShoalRESP
import Testing

@testable import ShoalRedis

@Suite("The Sentinel URL form and the Sentinel client's pure parts")
struct RedisSentinelURLTests {
    @Test("redis-sentinel:// names the sentinels, the primary and the credentials, as lettuce reads it")
    func sentinelURL() throws {
        let configuration = try RedisConfiguration(url: "redis-sentinel://app:s%3Acret@10.0.0.1,10.0.0.2:26380,[::1]/3#orders")
        let sentinel = try #require(configuration.sentinel)
        #expect(
            sentinel.sentinels == [
                .init(host: "10.0.0.1", port: 26379), .init(host: "10.0.0.2", port: 26380), .init(host: "::1", port: 26379),
            ])
        #expect(sentinel.primaryName == "orders")
        #expect(configuration.database == 3)
        #expect(configuration.username == "app" && configuration.password == "s:cret")
        #expect(sentinel.username == "app" && sentinel.password == "s:cret")
        #expect(configuration.tls == nil && sentinel.tls == nil)
        #expect(configuration.serverDescription == "primary 'orders' (sentinels 10.0.0.1:26379,10.0.0.2:26380,[::1]:26379)")

        let secure = try RedisConfiguration(url: "rediss-sentinel://h1?sentinelMasterId=main")
        #expect(secure.sentinel?.primaryName == "main")
        #expect(secure.tls != nil && secure.sentinel?.tls != nil)
        #expect(try RedisConfiguration(url: "redis-sentinel://:pw@h1#m").password == "pw")
    }

    @Test(
        "a Sentinel URL that cannot be used says why, without the password",
        arguments: [
            ("redis-sentinel://:pw@h1,h2", "it names no primary"),
            ("redis-sentinel://h1#", "it names no primary"),
            ("redis-sentinel://h1,,h2#m", "it names no host"),
            ("redis-sentinel://h1:0#m", "the port '0' is not a number in 1...65535"),
            ("redis-sentinel://h1/x#m", "the database 'x' is not a number"),
            ("redis-sentinel://h1?timeout=5s#m", "unknown query parameter 'timeout=5s'"),
            ("redis://h1#m", "'#' and '?' belong to the redis-sentinel:// form only"),
            ("sentinel://h1#m", "it must start with redis://"),
        ])
    func badSentinelURLs(url: String, problem: String) {
        do {
            _ = try RedisConfiguration(url: url)
            Issue.record("\(url) was accepted")
        } catch {
            #expect(error.message.contains(problem), "\(error.message)")
            #expect(!error.message.contains(":pw@"))
        }
    }

    @Test("the sentinel that answered is asked first; sentinels told of are added at the end, none forgotten")
    func sentinelOrder() {
        let a = RedisSentinel.Address(host: "a")
        let b = RedisSentinel.Address(host: "b")
        let c = RedisSentinel.Address(host: "c")
        var list = SentinelList([a, b, a])
        #expect(list.addresses == [a, b])
        list.answered(by: b)
        #expect(list.addresses == [b, a])
        list.learn([c, a])
        #expect(list.addresses == [b, a, c])
        list.answered(by: c)
        #expect(list.addresses == [c, b, a])
    }

    @Test("+switch-master messages and sentinel answers are read, and what is not about this primary is ignored")
    func sentinelMessages() {
        #expect(
            RedisSentinelWatch.newPrimary(in: "orders 10.0.0.1 6379 10.0.0.2 6380", of: "orders")
                == RedisSentinel.Address(host: "10.0.0.2", port: 6380))
        #expect(RedisSentinelWatch.newPrimary(in: "other 10.0.0.1 6379 10.0.0.2 6380", of: "orders") == nil)
        #expect(RedisSentinelWatch.newPrimary(in: "orders 10.0.0.1 6379 10.0.0.2", of: "orders") == nil)
        #expect(RedisSentinelWatch.newPrimary(in: "orders 10.0.0.1 6379 10.0.0.2 99999", of: "orders") == nil)

        let address = RESPValue.array([.bulkString(ByteBuffer(string: "10.0.0.9")), .bulkString(ByteBuffer(string: "6379"))])
        #expect(RedisPrimaryLocator.address(address) == RedisSentinel.Address(host: "10.0.0.9", port: 6379))
        #expect(RedisPrimaryLocator.address(.null) == nil)

        func text(_ string: String) -> RESPValue { .bulkString(ByteBuffer(string: string)) }
        let resp3 = RESPValue.array([
            .map([RESPMapEntry(key: text("name"), value: text("x")), RESPMapEntry(key: text("ip"), value: text("10.0.0.7")),
                RESPMapEntry(key: text("port"), value: text("26379"))])
        ])
        let resp2 = RESPValue.array([.array([text("ip"), text("10.0.0.8"), text("port"), text("26380")])])
        #expect(RedisPrimaryLocator.sentinels(resp3) == [RedisSentinel.Address(host: "10.0.0.7", port: 26379)])
        #expect(RedisPrimaryLocator.sentinels(resp2) == [RedisSentinel.Address(host: "10.0.0.8", port: 26380)])

        let primary = RESPValue.array([text("master"), .integer(0), .array([])])
        let replica = RESPValue.array([text("slave"), text("10.0.0.1"), .integer(6379), text("connected"), .integer(0)])
        #expect(RedisConnection.isPrimary(primary))
        #expect(!RedisConnection.isPrimary(replica))
    }
}
