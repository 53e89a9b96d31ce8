import NIOCore
import ShoalCore
import ShoalLock
import ShoalRESP
import ShoalRedis
import ShoalTesting
import Testing

@Suite("Fenced writes against a real redis-server", .serialized)
struct FencedRedisWritesTests {
    @Test("a write with a lower token than one already seen is refused and changes nothing")
    func fencing() async throws {
        let redis = try RedisServer.start()
        let connection = try await RedisConnection.connect(RedisConfiguration(host: redis.host, port: redis.port))
        let writes = FencedRedisWrites(connection: connection)
        #expect(try await writes.set("report", to: "from 5", fencingToken: 5) == .written)
        #expect(try await writes.set("report", to: "from 3", fencingToken: 3) == .rejected(highestSeen: 5))
        #expect(try redis.command("GET", "report") == .bulkString(ByteBuffer(string: "from 5")))
        #expect(try await writes.set("report", to: "5 again", fencingToken: 5) == .written)
        #expect(try await writes.set("report", to: "from 7", fencingToken: 7) == .written)
        #expect(try await writes.set("report", to: "late 6", fencingToken: 6) == .rejected(highestSeen: 7))
        #expect(try redis.command("GET", "report") == .bulkString(ByteBuffer(string: "from 7")))
        #expect(try redis.keys() == ["report", "report:fence"])
        await connection.close()
    }

    @Test("end to end: a holder that lost its lease cannot overwrite the next holder's write")
    func staleHolder() async throws {
        let redis = try RedisServer.start()
        let connection = try await RedisConnection.connect(RedisConfiguration(host: redis.host, port: redis.port))
        let writes = FencedRedisWrites(connection: connection)
        let clock = ManualClock()
        let locks = EmbeddedLock(clock: clock)
        let stale = try #require(try await locks.tryAcquire("report", ttl: .seconds(5)))
        clock.advance(by: .seconds(6))  // the stale holder pauses past its lease
        let next = try #require(try await locks.tryAcquire("report", ttl: .seconds(5)))
        #expect(try await writes.set("report", to: "next", fencingToken: next.fencingToken) == .written)
        #expect(
            try await writes.set("report", to: "stale", fencingToken: stale.fencingToken)
                == .rejected(highestSeen: next.fencingToken))
        #expect(try redis.command("GET", "report") == .bulkString(ByteBuffer(string: "next")))
        await connection.close()
    }
}
