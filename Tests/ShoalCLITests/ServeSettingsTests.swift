import Foundation
import ShoalTesting
import Testing

/// A route for the gRPC settings' cases of ``ServeSettingsTests/badSetting(config:environment:message:)``.
private let grpcRoute = "routes:\n  g:\n    prefix: /g\n    service: g\n"

@Suite("shoal serve settings: flags, SHOAL_* variables and a YAML file", .serialized)
struct ServeSettingsTests {
    @Test("the file sets what nothing else does; a variable beats the file; a flag beats both")
    func precedence() async throws {
        let config = "admin: 127.0.0.1:0\nlisten: 127.0.0.1:0\ntoken: from-file\n"
        let cases: [(arguments: [String], environment: [String: String], winner: String, loser: String?)] = [
            ([], [:], "from-file", nil),
            ([], ["SHOAL_TOKEN": "from-env"], "from-env", "from-file"),
            (["--token", "from-flag"], ["SHOAL_TOKEN": "from-env"], "from-flag", "from-env"),
        ]
        for (arguments, environment, winner, loser) in cases {
            let serve = try await ServeProcess(arguments, environment: environment, config: config)
            defer { serve.stop() }
            #expect(try await serve.request("GET", "/v1/services", token: winner).status == 200)
            #expect(try await serve.request("GET", "/v1/services").status == 401)
            if let loser { #expect(try await serve.request("GET", "/v1/services", token: loser).status == 401) }
        }
    }

    @Test("the Redis server named in the file holds the registry")
    func redisFromFile() async throws {
        let redis = try RedisServer.start()
        let serve = try await ServeProcess(
            config: "admin: 127.0.0.1:0\nlisten: 127.0.0.1:0\nredis:\n  url: \(redis.url)\n")
        defer { serve.stop() }
        #expect(serve.shoal.stderr.contains("(state in Redis)"))
        let put = try await serve.request(
            "PUT", "/v1/services/web/instances/w1", body: #"{"address":"127.0.0.1","port":9000,"ttl":"30s"}"#)
        #expect(put.status == 200)
        #expect(try redis.keys().contains { $0.contains("web") })
    }

    @Test(
        "a bad setting exits 2 and says what and where",
        arguments: [
            ("redis:\n  uri: redis://127.0.0.1\n", [:], "unknown setting 'redis.uri' in"),
            ("redis:\n  uri: redis://127.0.0.1\n", [:], "(line 2)"),
            ("admin: [\n", [:], "is not valid YAML"),
            ("- admin\n", [:], "must be a mapping of settings"),
            ("insecure: maybe\n", [:], "'insecure' in"),
            (nil, ["SHOAL_INSECURE": "perhaps"], "SHOAL_INSECURE is not a boolean (true or false)"),
            (nil, ["SHOAL_CONFIG": "/nonexistent/shoal.yaml"], "--config: cannot read '/nonexistent/shoal.yaml'"),
            (nil, ["SHOAL_TOKEN": ""], "the token must not be empty"),
            (nil, ["SHOAL_ADMIN": "0.0.0.0:0"], "is not a loopback address"),
            ("admin: 8081\n", [:], "admin address must be HOST:PORT"),
            (
                "redis:\n  url: redis://127.0.0.1\n  ca: /etc/hostname\n", [:],
                "--redis-ca needs a rediss:// (or rediss-sentinel://) URL"
            ),
            ("redis:\n  url: redis-sentinel://:pw@10.0.0.1,10.0.0.2\n", [:], "it names no primary: end it with #NAME"),
            (
                nil, ["SHOAL_REDIS_URL": "redis-sentinel://10.0.0.1:0#shoal"],
                "the port '0' is not a number in 1...65535"
            ),
            ("limits:\n  max_concurrent_streams: 0\n", [:], "must be a number from 1 to 2147483647, not 0"),
            ("limits:\n  drain_idle_grace: -1s\n", [:], "must be a duration such as 10s (or 0s), not '-1s'"),
            ("limits:\n  drain_timeout: 0s\n", [:], "must be a duration such as 10s, not '0s'"),
            (grpcRoute + "    protocol: h3\n", [:], "'routes.g.protocol' must be http1 or h2c, not 'h3'"),
            (grpcRoute, ["SHOAL_ROUTES_G_PROTOCOL": "h3"], "'routes.g.protocol' must be http1 or h2c, not 'h3'"),
            (grpcRoute + "    retry_grpc_status: unavailable\n", [:], "must list gRPC status codes, such as 14"),
            (grpcRoute + "    retry_grpc_status: 14,99\n", [:], "route /g: 99 is not a gRPC error status (1...16)"),
        ] as [(String?, [String: String], String)]
    )
    func badSetting(config: String?, environment: [String: String], message: String) async throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var arguments = ["serve"]
        if let config {
            let file = directory.appendingPathComponent("shoal.yaml")
            try Data(config.utf8).write(to: file)
            arguments += ["--config", file.path]
        }
        let result = try await ShoalProcess.run(arguments, environment: environment)
        #expect(result.status == 2)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
    }
}
