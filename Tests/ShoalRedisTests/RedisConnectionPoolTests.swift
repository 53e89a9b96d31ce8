import NIOCore
import ShoalRESP
import ShoalRedis
import ShoalTesting
import Testing

/// How many clients the server has, from CLIENT LIST (the audit connection included).
func clientCount(_ redis: RedisServer) throws -> Int {
    (try redis.command("CLIENT", "LIST").string ?? "").split(separator: "\n").count
}

@Suite("RedisConnectionPool against a real redis-server", .serialized)
struct RedisConnectionPoolTests {
    @Test("50 concurrent callers share at most the maximum of connections; all get their replies")
    func maximum() async throws {
        let redis = try RedisServer.start()
        let pool = RedisConnectionPool(
            configuration: RedisConfiguration(host: redis.host, port: redis.port),
            // A long lease wait: what is tested is sharing, not how fast 50 callers get
            // through 3 connections on a loaded machine (parallel `swift test`).
            pool: RedisPoolConfiguration(maximumConnections: 3, leaseTimeout: .seconds(60)))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<50 {
                group.addTask {
                    let reply = try await pool.withConnection { connection in
                        _ = try await connection.send(RESPCommand("SET", "k\(caller)", "\(caller)"))
                        return try await connection.send(RESPCommand("GET", "k\(caller)"))
                    }
                    #expect(reply == .bulkString(ByteBuffer(string: "\(caller)")))
                }
            }
            try await group.waitForAll()
        }
        #expect(pool.statistics.open <= 3)
        #expect(pool.statistics.open == pool.statistics.idle)
        #expect(try clientCount(redis) == pool.statistics.open + 1)
        await pool.close()
        #expect(try await eventually { try clientCount(redis) == 1 })
    }

    @Test("a connection the server closed is dropped, not lent again")
    func dropsClosed() async throws {
        let redis = try RedisServer.start()
        let pool = RedisConnectionPool(configuration: RedisConfiguration(host: redis.host, port: redis.port))
        _ = try await pool.send(RESPCommand("PING"))
        _ = try redis.command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        try await Task.sleep(for: .milliseconds(50))
        #expect(try await pool.send(RESPCommand("PING")) == pong)
        #expect(pool.statistics.open == 1)
        await pool.close()
    }

    @Test("run() opens the minimum, comes back after a restart, closes all on cancellation")
    func upkeep() async throws {
        let redis = try RedisServer.start()
        var configuration = RedisConfiguration(host: redis.host, port: redis.port)
        configuration.connectTimeout = .milliseconds(500)
        let pool = RedisConnectionPool(
            configuration: configuration,
            pool: RedisPoolConfiguration(
                minimumConnections: 2, healthCheckInterval: .milliseconds(100),
                backoff: RedisBackoff(initial: .milliseconds(20), maximum: .milliseconds(100))))
        let running = Task { try await pool.run() }
        #expect(try await eventually { try clientCount(redis) == 3 })
        try redis.restart()
        #expect(try await eventually { try clientCount(redis) == 3 && pool.statistics.open == 2 })
        #expect(try await pool.send(RESPCommand("PING")) == pong)
        running.cancel()
        try await running.value
        #expect(try await eventually { try clientCount(redis) == 1 })
        let closed = await caught(RedisError.self) { _ = try await pool.send(RESPCommand("PING")) }
        #expect(closed?.code == .connectionClosed)
    }

    @Test("with every connection lent, a caller waits its lease time-out, then gets a time-out error")
    func leaseTimeout() async throws {
        let redis = try RedisServer.start()
        let pool = RedisConnectionPool(
            configuration: RedisConfiguration(host: redis.host, port: redis.port),
            pool: RedisPoolConfiguration(maximumConnections: 1, leaseTimeout: .milliseconds(100)))
        let error = await caught(RedisError.self) {
            try await pool.withConnection { _ in _ = try await pool.send(RESPCommand("PING")) }
        }
        #expect(error?.code == .timeout)
        #expect(pool.statistics.waiting == 0)
        await pool.close()
    }

    @Test("a lease time-out shorter than it takes to get in line still ends the wait", .timeLimit(.minutes(1)))
    func tinyLeaseTimeout() async throws {
        let redis = try RedisServer.start()
        let pool = RedisConnectionPool(
            configuration: RedisConfiguration(host: redis.host, port: redis.port),
            pool: RedisPoolConfiguration(maximumConnections: 1, leaseTimeout: .nanoseconds(1)))
        try await pool.withConnection { _ in
            // Many at once on 2 cores: some callers lose the processor between scheduling
            // their timer and getting in line.
            let timedOut = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<2_000 {
                    group.addTask {
                        let error = await caught(RedisError.self) { _ = try await pool.send(RESPCommand("PING")) }
                        return error?.code == .timeout
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(timedOut == 2_000)
        }
        #expect(pool.statistics.waiting == 0)
        await pool.close()
    }
}
