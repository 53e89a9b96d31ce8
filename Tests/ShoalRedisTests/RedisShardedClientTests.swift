import NIOCore
import ShoalCore
import ShoalHashing
import ShoalRESP
import ShoalRedis
import ShoalTesting
import Testing

@Suite("RedisShardedClient against three real redis-servers", .serialized)
struct RedisShardedClientTests {
    static func endpoints(_ servers: [RedisServer]) throws -> [Endpoint] {
        try servers.map { try Endpoint(host: $0.host, port: $0.port) }
    }

    @Test("each key is stored on the shard libmemcached-style ketama names")
    func placement() async throws {
        let servers = try (0..<3).map { _ in try RedisServer.start() }
        let shards = try Self.endpoints(servers)
        let client = try RedisShardedClient(shards: shards)
        let ring = try KetamaRing(nodes: shards, flavor: .libmemcached)
        for index in 0..<60 {
            let key = "user:\(index)"
            _ = try await client.send(RESPCommand("SET", key, "v\(index)"), key: key)
            let owner = ring.index(for: key)
            #expect(client.shard(for: key) == shards[owner])
            #expect(try servers[owner].command("GET", key).string == "v\(index)")
        }
        #expect(try servers.map { try $0.keys().count }.reduce(0, +) == 60)
        #expect(try servers.allSatisfy { try !$0.keys().isEmpty })
        await client.close()
    }

    @Test("a shard that keeps failing is ejected, its keys move to the others, and it comes back later")
    func ejection() async throws {
        let servers = try (0..<3).map { _ in try RedisServer.start() }
        let shards = try Self.endpoints(servers)
        let clock = ManualClock()
        var configuration = RedisConfiguration()
        configuration.connectTimeout = .milliseconds(500)
        let client = try RedisShardedClient(
            shards: shards, configuration: configuration,
            ejection: .init(failureLimit: 2, retryAfter: .seconds(30)), clock: clock)
        let keys = (0..<200).map { "k\($0)" }
        let before = keys.map { client.shard(for: $0) }
        let onFirst = try #require(keys.first { client.shard(for: $0) == shards[0] })
        servers[0].stop()
        for _ in 0..<2 {
            let error = await caught(RedisError.self) {
                _ = try await client.send(RESPCommand("SET", onFirst, "x"), key: onFirst)
            }
            #expect(error?.code == .connectionRefused)
        }
        #expect(client.ejectedShards == [shards[0]])
        _ = try await client.send(RESPCommand("SET", onFirst, "x"), key: onFirst)  // now on another shard
        #expect(client.shard(for: onFirst) != shards[0])
        for (key, owner) in zip(keys, before) where owner != shards[0] {
            #expect(client.shard(for: key) == owner)  // only the ejected shard's keys moved
        }
        try servers[0].restart()
        clock.advance(by: .seconds(29))
        #expect(client.shard(for: onFirst) != shards[0])
        clock.advance(by: .seconds(1))
        #expect(client.shard(for: onFirst) == shards[0])
        #expect(client.ejectedShards.isEmpty)
        _ = try await client.send(RESPCommand("SET", onFirst, "back"), key: onFirst)
        #expect(try servers[0].command("GET", onFirst).string == "back")
        await client.close()
    }
}
