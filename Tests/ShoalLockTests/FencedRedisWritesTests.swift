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
        let connection = try await RedisConnection.connect(redis.configuration)
        let writes = FencedRedisWrites(connection: connection)
        #expect(try await writes.set("app:report", to: "from 5", fencingToken: 5) == .written)
        #expect(try await writes.set("app:report", to: "from 3", fencingToken: 3) == .rejected(highestSeen: 5))
        #expect(try redis.command("GET", "app:report") == .bulkString(ByteBuffer(string: "from 5")))
        #expect(try await writes.set("app:report", to: "5 again", fencingToken: 5) == .written)
        #expect(try await writes.set("app:report", to: "from 7", fencingToken: 7) == .written)
        #expect(try await writes.set("app:report", to: "late 6", fencingToken: 6) == .rejected(highestSeen: 7))
        #expect(try redis.command("GET", "app:report") == .bulkString(ByteBuffer(string: "from 7")))
        #expect(try redis.keys() == ["app:report", "app:report:fence"])
        await connection.close()
    }

    @Test("a fenced read raises the highest token seen: a holder that read before a newer one cannot write after it")
    func fencedRead() async throws {
        let redis = try RedisServer.start()
        let connection = try await RedisConnection.connect(redis.configuration)
        let writes = FencedRedisWrites(connection: connection)
        #expect(try await writes.get("app:counter", fencingToken: 10) == .value(nil))
        #expect(try await writes.set("app:counter", to: "1", fencingToken: 10) == .written)
        #expect(try await writes.get("app:counter", fencingToken: 10) == .value("1"))  // the stale holder reads 1
        #expect(try await writes.get("app:counter", fencingToken: 20) == .value("1"))  // so does the new one
        #expect(try await writes.set("app:counter", to: "2", fencingToken: 10) == .rejected(highestSeen: 20))
        #expect(try await writes.get("app:counter", fencingToken: 15) == .rejected(highestSeen: 20))
        #expect(try await writes.set("app:counter", to: "2", fencingToken: 20) == .written)
        #expect(try redis.command("GET", "app:counter").string == "2")
        await connection.close()
    }

    @Test("end to end: a holder that lost its lease cannot overwrite the next holder's write")
    func staleHolder() async throws {
        let redis = try RedisServer.start()
        let configuration = redis.configuration
        let connection = try await RedisConnection.connect(configuration)
        let writes = FencedRedisWrites(connection: connection)
        // Two holders, as two processes would be: each with its own pool on the same Redis.
        let staleLocks = RedisLock(configuration: configuration)
        let nextLocks = RedisLock(configuration: configuration)
        let stale = try #require(try await staleLocks.tryAcquire("app:report", ttl: .milliseconds(500)))
        // The stale holder pauses: it renews nothing, and Redis lets its lease run out.
        var taken: LockLease?
        #expect(
            try await eventually(within: 10) {
                taken = try await nextLocks.tryAcquire("app:report", ttl: .seconds(30))
                return taken != nil
            })
        let next = try #require(taken)
        #expect(next.fencingToken > stale.fencingToken)
        // The stale holder has lost the lock, and its renewal says so.
        await #expect(throws: LockLost.self) { _ = try await staleLocks.renew(stale) }
        #expect(try await writes.set("app:report", to: "next", fencingToken: next.fencingToken) == .written)
        #expect(
            try await writes.set("app:report", to: "stale", fencingToken: stale.fencingToken)
                == .rejected(highestSeen: next.fencingToken))
        #expect(try redis.command("GET", "app:report") == .bulkString(ByteBuffer(string: "next")))
        _ = try await nextLocks.release(next)
        await staleLocks.close()
        await nextLocks.close()
        await connection.close()
    }
}
