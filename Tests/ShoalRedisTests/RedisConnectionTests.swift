import NIOCore
import ShoalRESP
import ShoalRedis
import ShoalTesting
import Testing

func connect(_ redis: RedisServer, _ change: (inout RedisConfiguration) -> Void = { _ in }) async throws
    -> RedisConnection
{
    var configuration = RedisConfiguration(host: redis.host, port: redis.port)
    change(&configuration)
    return try await RedisConnection.connect(configuration)
}

let pong = RESPValue.simpleString(ByteBuffer(string: "PONG"))

@Suite("RedisConnection against a real redis-server", .serialized)
struct RedisConnectionTests {
    @Test("commands, replies and typed server errors")
    func commands() async throws {
        let redis = try RedisServer.start()
        let connection = try await connect(redis)
        #expect(try await connection.send(RESPCommand("PING")) == pong)
        _ = try await connection.send(RESPCommand("SET", "greeting", "hello"))
        #expect(try await connection.send(RESPCommand("GET", "greeting")) == .bulkString(ByteBuffer(string: "hello")))
        #expect(try await connection.send(RESPCommand("GET", "missing")) == .null)
        let error = await caught(RedisError.self) { _ = try await connection.send(RESPCommand("INCR", "greeting")) }
        #expect(error?.code == .server)
        #expect(error?.message == "server error: ERR value is not an integer or out of range")
        #expect(try await connection.send(RESPCommand("PING")) == pong)  // still usable
        await connection.close()
    }

    @Test("a pipeline of 1000 commands and 50 concurrent callers get their own replies in order")
    func pipelining() async throws {
        let redis = try RedisServer.start()
        let connection = try await connect(redis)
        let replies = try await connection.pipeline((0..<1000).map { _ in RESPCommand("INCR", "counter") })
        #expect(replies == (1...1000).map { RESPValue.integer(Int64($0)) })
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for caller in 0..<50 {
                group.addTask {
                    _ = try await connection.send(RESPCommand("SET", "caller:\(caller)", "\(caller)"))
                    let value = try await connection.send(RESPCommand("GET", "caller:\(caller)"))
                    return value == .bulkString(ByteBuffer(string: "\(caller)"))
                }
            }
            for try await matched in group { #expect(matched) }
        }
        await connection.close()
    }

    @Test("HELLO 3 with AUTH, CLIENT SETNAME and SELECT; a wrong password is a set-up error")
    func setUp() async throws {
        let redis = try RedisServer.start(extraArguments: ["--requirepass", "s3cret"])
        let wrong = await caught(RedisError.self) { _ = try await connect(redis) { $0.password = "nope" } }
        #expect(wrong?.code == .setupFailed)
        #expect(wrong?.message.contains("HELLO") == true)
        let connection = try await connect(redis) {
            $0.password = "s3cret"
            $0.clientName = "shoal-test"
            $0.database = 3
        }
        #expect(
            try await connection.send(RESPCommand("CLIENT", "GETNAME")) == .bulkString(ByteBuffer(string: "shoal-test"))
        )
        _ = try await connection.send(RESPCommand("SET", "in-three", "yes"))
        let audit = try RedisTestConnection(port: redis.port, timeout: 2)
        _ = try audit.command(["AUTH", "s3cret"])
        _ = try audit.command(["SELECT", "3"])
        #expect(try audit.command(["GET", "in-three"]) == .bulkString(ByteBuffer(string: "yes")))
        await connection.close()
    }

    @Test("connection refused names the address")
    func refused() async throws {
        let redis = try RedisServer.start()
        redis.stop()
        let error = await caught(RedisError.self) { _ = try await connect(redis) }
        #expect(error?.code == .connectionRefused)
        #expect(error?.message.hasPrefix("connection refused to 127.0.0.1:\(redis.port)") == true)
    }

    @Test("a missed deadline on a paused server times out and closes the connection")
    func deadline() async throws {
        let redis = try RedisServer.start()
        let connection = try await connect(redis)
        try redis.pause()
        defer { try? redis.resume() }
        let started = ContinuousClock.now
        let error = await caught(RedisError.self) {
            _ = try await connection.send(RESPCommand("PING"), timeout: .milliseconds(200))
        }
        #expect(error?.code == .timeout)
        #expect(ContinuousClock.now - started < .seconds(3))
        try await Task.sleep(for: .milliseconds(50))
        #expect(!connection.isConnected)
        let after = await caught(RedisError.self) { _ = try await connection.send(RESPCommand("PING")) }
        #expect(after?.code == .connectionClosed)
    }

    @Test("cancelling a waiting caller closes the connection and throws cancelled")
    func cancellation() async throws {
        let redis = try RedisServer.start()
        let connection = try await connect(redis)
        try redis.pause()
        defer { try? redis.resume() }
        let waiting = Task {
            await caught(RedisError.self) { _ = try await connection.send(RESPCommand("PING"), timeout: .seconds(30)) }
        }
        try await Task.sleep(for: .milliseconds(100))
        waiting.cancel()
        let error = await waiting.value
        #expect(error?.code == .cancelled)
        #expect(!connection.isConnected)
    }

    @Test("a killed server fails the waiting command with a closed connection")
    func killed() async throws {
        let redis = try RedisServer.start()
        let connection = try await connect(redis)
        try redis.pause()
        let waiting = Task {
            await caught(RedisError.self) { _ = try await connection.send(RESPCommand("PING"), timeout: .seconds(30)) }
        }
        try await Task.sleep(for: .milliseconds(100))
        redis.kill()
        #expect(await waiting.value?.code == .connectionClosed)
    }
}

@Suite("Scripts against a real redis-server", .serialized)
struct RedisScriptTests {
    static let compareAndDelete = RedisScript(
        """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """)

    /// How many times the server ran a command, from INFO commandstats.
    static func calls(_ command: String, on connection: RedisConnection) async throws -> Int {
        let info = try await connection.send(RESPCommand("INFO", "commandstats")).string ?? ""
        guard let line = info.split(separator: "\r\n").first(where: { $0.hasPrefix("cmdstat_\(command):") }),
            let calls = line.split(separator: ",").first?.split(separator: "=").last
        else { return 0 }
        return Int(calls) ?? 0
    }

    @Test("the SHA-1 is the server's; EVALSHA falls back to SCRIPT LOAD once, also after a flush")
    func evalsha() async throws {
        let redis = try RedisServer.start()
        let connection = try await connect(redis)
        let loaded = try await connection.send(RESPCommand("SCRIPT", "LOAD", Self.compareAndDelete.source))
        #expect(loaded.string == Self.compareAndDelete.sha1)
        _ = try await connection.send(RESPCommand("SCRIPT", "FLUSH"))

        _ = try await connection.send(RESPCommand("SET", "lock:a", "token-1"))
        #expect(
            try await connection.evaluate(Self.compareAndDelete, keys: ["lock:a"], arguments: ["other"]) == .integer(0))
        #expect(
            try await connection.evaluate(Self.compareAndDelete, keys: ["lock:a"], arguments: ["token-1"])
                == .integer(1))
        #expect(try await Self.calls("script|load", on: connection) == 2)  // the explicit one and one fallback
        #expect(try await Self.calls("evalsha", on: connection) == 3)  // one NOSCRIPT, then two runs

        _ = try await connection.send(RESPCommand("SCRIPT", "FLUSH"))
        #expect(try await connection.evaluate(Self.compareAndDelete, keys: ["lock:a"], arguments: ["x"]) == .integer(0))
        let failing = RedisScript("return redis.call('INCR', KEYS[1])")
        _ = try await connection.send(RESPCommand("SET", "text", "abc"))
        let error = await caught(RedisError.self) { _ = try await connection.evaluate(failing, keys: ["text"]) }
        #expect(error?.code == .server)
        #expect(error?.message.contains("not an integer") == true)
        await connection.close()
    }
}
