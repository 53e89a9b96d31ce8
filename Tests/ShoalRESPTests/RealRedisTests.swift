import Foundation
import NIOCore
import ShoalRESP
import ShoalTesting
import Testing

@Suite("The RedisServer fixture and RESP against a real redis-server", .serialized)
struct RealRedisTests {
    @Test("starts on a free port, answers, and is gone after stop")
    func lifecycle() throws {
        let redis = try RedisServer.start()
        #expect(try redis.command("PING") == .simpleString(ByteBuffer(string: "PONG")))
        #expect(try redis.command("SET", "fixture:a", "1") == .simpleString(ByteBuffer(string: "OK")))
        #expect(try redis.keys() == ["fixture:a"])
        redis.stop()
        #expect(throws: RedisServerError.self) { try redis.command("PING") }
    }

    @Test("pause stops answers without closing connections; resume brings them back")
    func pauseAndResume() throws {
        let redis = try RedisServer.start()
        try redis.pause()
        #expect(throws: RedisServerError.self) { try redis.command("PING", timeout: 0.3) }
        try redis.resume()
        #expect(try redis.command("PING") == .simpleString(ByteBuffer(string: "PONG")))
    }

    @Test("kill refuses connections; restart comes back empty on the same port")
    func killAndRestart() throws {
        let redis = try RedisServer.start()
        _ = try redis.command("SET", "fixture:b", "1")
        redis.kill()
        #expect(throws: RedisServerError.self) { try redis.command("PING") }
        try redis.restart()
        #expect(try redis.command("PING") == .simpleString(ByteBuffer(string: "PONG")))
        #expect(try redis.keys() == [])
    }

    @Test(
        "every RESP3 type the server sends decodes",
        arguments: [
            ("string", "bulkString"), ("integer", "integer"), ("double", "double"), ("bignum", "bigNumber"),
            ("null", "null"), ("array", "array"), ("set", "set"), ("map", "map"), ("attrib", "attributed"),
            ("true", "boolean"), ("false", "boolean"), ("verbatim", "verbatimString"),
        ])
    func resp3Types(type: String, expected: String) throws {
        let redis = try RedisServer.start(extraArguments: ["--enable-debug-command", "yes"])
        let connection = try RedisTestConnection(port: redis.port, timeout: 2)
        guard case .map(let hello) = try connection.command(["HELLO", "3"]) else {
            Issue.record("HELLO 3 did not answer with a map")
            return
        }
        #expect(hello.contains { $0.key.string == "proto" && $0.value == .integer(3) })
        let reply = try connection.command(["DEBUG", "PROTOCOL", type])
        let kind = String(describing: reply).prefix { $0 != "(" }
        #expect(kind == expected, "DEBUG PROTOCOL \(type) gave \(reply)")
    }

    @Test("a server error is an error value, not a protocol error")
    func serverError() throws {
        let redis = try RedisServer.start()
        _ = try redis.command("SET", "fixture:c", "text")
        let reply = try redis.command("INCR", "fixture:c")
        #expect(reply.isError)
        #expect(reply.string?.hasPrefix("ERR value is not an integer") == true)
    }
}
