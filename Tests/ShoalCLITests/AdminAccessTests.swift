import Foundation
import HTTPTypes
import Hummingbird
import ShoalAdmin
import ShoalDiscovery
import ShoalGateway
import ShoalLock
import ShoalTesting
import Testing

@testable import shoal

#if canImport(Glibc)
    import Glibc
#endif

/// The admin API's rights: which request needs which, read from the router's own routes so
/// that a route added without a rule fails here, and each tried over real HTTP with a token
/// that has the right and one that does not.
@Suite("admin API tokens: every route needs its right; names, globs and hashes", .serialized)
struct AdminAccessTests {
    /// The routes of the router `shoal serve` runs, as `METHOD /path/{capture}`.
    static func routes() throws -> [(method: HTTPRequest.Method, path: String)] {
        let registry = EmbeddedRegistry()
        let gateway = Gateway(configuration: try GatewayConfiguration(routes: RouteTable([])), discovery: registry)
        let router = AdminRouter.router(
            registry: registry, checker: HealthChecker(registry: registry), locks: EmbeddedLock(), gateway: gateway,
            tokens: AdminTokens(), metrics: { "" })
        return router.routes.map { ($0.method, "\($0.path)") }
    }

    /// A path of the route with its captures filled in: the service `payments`, the instance
    /// `p1`, the lock `payments-x`.
    static func sample(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { part in
            switch part {
            case "{service}": "payments"
            case "{id}": "p1"
            case "{name}": "payments-x"
            default: String(part)
            }
        }.joined(separator: "/")
    }

    /// The paths open to all.
    static let open: Set<String> = ["/", "/healthz", "/dashboard", "/dashboard/dashboard.js", "/dashboard/dashboard.css"]

    @Test("every route of the router has a rule; only the probe and the dashboard's files are open")
    func everyRouteHasARule() throws {
        let routes = try Self.routes()
        #expect(routes.count >= 17, "\(routes)")
        for (method, path) in routes {
            let rule = AdminRequirement.rule(method: method, path: Self.sample(path))
            #expect(rule != nil, "\(method) \(path) has no rule in AdminRequirement.rule")
            #expect((rule == .open) == Self.open.contains(path), "\(method) \(path): \(String(describing: rule))")
        }
    }

    @Test("rules: what each request needs, and what a scoped token meets")
    func rules() {
        #expect(AdminRequirement.rule(method: .put, path: "/v1/services/payments/instances/p1/renew") == .register("payments"))
        #expect(AdminRequirement.rule(method: .put, path: "/v1/services/payments/instances/p1/other") == nil)
        #expect(AdminRequirement.rule(method: .post, path: "/v1/locks/pay%6Dents-1") == .lock("payments-1"))
        #expect(AdminRequirement.rule(method: .get, path: "/v1/unknown") == nil)
        #expect(AdminRequirement.rule(method: .get, path: "/v1/services/a/b/c/d/e/f") == nil)
        let rights: [AdminRight] = [.read, .register(NameGlob("payments*")), .lock(NameGlob("payments-*"))]
        #expect(AdminRequirement.register("payments-eu").isMet(by: rights))
        #expect(!AdminRequirement.register("orders").isMet(by: rights))
        #expect(AdminRequirement.lock("payments-1").isMet(by: rights))
        #expect(!AdminRequirement.lock("payments").isMet(by: rights))
        #expect(AdminRequirement.anyLock.isMet(by: rights))
        #expect(!AdminRequirement.status.isMet(by: rights))
        #expect(!AdminRequirement.all.isMet(by: rights))
        #expect(AdminRequirement.all.isMet(by: [.all]))
        #expect(AdminRequirement.open.isMet(by: []))
    }

    @Test("globs: * and ?, the whole name")
    func globs() {
        let cases: [(String, String, Bool)] = [
            ("payments*", "payments", true), ("payments*", "payments-eu", true), ("payments*", "pay", false),
            ("*-prod", "orders-prod", true), ("*-prod", "orders-prod-2", false), ("a?c", "abc", true),
            ("a?c", "ac", false), ("*", "", true), ("a*b*c", "aXbYbZc", true), ("a*b*c", "aXbYcZ", false),
            ("exact", "exact", true), ("exact", "exactly", false),
        ]
        for (pattern, name, matches) in cases {
            #expect(NameGlob(pattern).matches(name) == matches, "\(pattern) \(name)")
        }
    }

    @Test("rights as a tokens file spells them; anything else is refused")
    func rights() {
        #expect(AdminRight(parsing: "register:payments*") == .register(NameGlob("payments*")))
        #expect(AdminRight(parsing: "lock:x") == .lock(NameGlob("x")))
        for bad in ["", "admin", "register:", "lock", "write:x", "READ"] { #expect(AdminRight(parsing: bad) == nil, "\(bad)") }
    }

    @Test("a token is found by its SHA-256; the single --token has every right")
    func hashes() {
        #expect(AdminTokens.hash("test") == "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
        let tokens = AdminTokens(
            single: "root",
            file: [AdminToken(name: "reader", sha256: Self.bytes(AdminTokens.hash("s3cret")), rights: [.read])])
        #expect(tokens.caller(presenting: "s3cret") == AdminCaller(name: "reader", rights: [.read]))
        #expect(tokens.caller(presenting: "root")?.rights == [.all])
        #expect(tokens.caller(presenting: "s3cre") == nil)
        #expect(tokens.caller(presenting: "") == nil)
        tokens.replace(single: nil, file: [])
        #expect(tokens.isEmpty && tokens.caller(presenting: "root") == nil)
    }

    static func bytes(_ hex: String) -> [UInt8] {
        stride(from: 0, to: hex.count, by: 2).map { offset in
            let start = hex.index(hex.startIndex, offsetBy: offset)
            return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)!
        }
    }
}

/// Every route over real HTTP, against `shoal serve --tokens FILE --token ROOT`.
@Suite("admin API tokens over HTTP: 2xx with the right, 403 without, on every route", .serialized)
struct AdminTokensHTTPTests {
    static let tokens = """
        tokens:
          - name: payments-deployer
            sha256: \(AdminTokens.hash("deploy-secret"))
            rights: [read, "register:payments*", "lock:payments-*"]
          - name: orders-team
            sha256: \(AdminTokens.hash("orders-secret"))
            rights: [read, "register:orders*", "lock:orders-*"]
          - name: prometheus
            sha256: \(AdminTokens.hash("scrape-secret"))
            rights: [status]
        """

    /// One request over a fresh connection: its status and body.
    static func call(
        _ port: Int, _ method: String, _ path: String, body: String = "", token: String?
    ) throws -> (status: Int, body: String) {
        let connection = try RawConnection(port: port)
        let authorization = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        _ = connection.send(
            "\(method) \(path) HTTP/1.1\r\nHost: a\r\n\(authorization)Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        )
        let response = connection.readResponse()
        return (response?.status ?? 0, response.map { String(decoding: $0.body, as: UTF8.self) } ?? "")
    }

    @Test("each route, in an order that leaves state for the next: the right gets 2xx, another token 403")
    func everyRoute() async throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("tokens.yaml")
        try Data(Self.tokens.utf8).write(to: file)
        let serve = try await ServeProcess(["--tokens", file.path, "--token", "root-secret"])
        defer { serve.stop() }
        let port = serve.port
        var lockToken = ""
        // (route as the router names it, the body, the token with the right, one without)
        let deployer = "deploy-secret"
        let orders = "orders-secret"
        let scraper = "scrape-secret"
        let steps: [(String, () -> String, String?, String?)] = [
            ("GET /healthz", { "" }, nil, nil),
            ("GET /", { "" }, nil, nil),
            ("GET /dashboard", { "" }, nil, nil),
            ("GET /dashboard/dashboard.js", { "" }, nil, nil),
            ("GET /dashboard/dashboard.css", { "" }, nil, nil),
            ("GET /v1/services", { "" }, deployer, scraper),
            ("PUT /v1/services/{service}/instances/{id}", { #"{"address":"127.0.0.1","port":9,"ttl":"1h"}"# }, deployer, orders),
            ("GET /v1/services/{service}", { "" }, orders, scraper),
            ("GET /v1/services/{service}/events", { "" }, deployer, scraper),
            ("PUT /v1/services/{service}/instances/{id}/renew", { "" }, deployer, orders),
            ("PUT /v1/services/{service}/instances/{id}/health", { #"{"health":"warning"}"# }, deployer, orders),
            ("GET /v1/locks", { "" }, orders, scraper),
            ("POST /v1/locks/{name}", { #"{"ttl":"30s"}"# }, deployer, orders),
            ("PUT /v1/locks/{name}/renew", { #"{"token":"\#(lockToken)"}"# }, deployer, orders),
            ("DELETE /v1/locks/{name}", { #"{"token":"\#(lockToken)"}"# }, deployer, orders),
            ("DELETE /v1/services/{service}/instances/{id}", { "" }, deployer, orders),
            ("GET /v1/gateway", { "" }, scraper, deployer),
            ("GET /metrics", { "" }, scraper, orders),
        ]
        // The table covers the router's routes exactly: a new route needs a step here.
        let routes = try AdminAccessTests.routes().map { "\($0.method) \($0.path)" }
        #expect(Set(routes) == Set(steps.map(\.0)), "routes: \(routes.sorted())")

        for (route, body, allowed, refused) in steps {
            let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
            let (method, path) = (parts[0], AdminAccessTests.sample(parts[1]))
            if let refused {
                let answer = try Self.call(port, method, path, body: body(), token: refused)
                #expect(answer.status == 403, "\(route) with another token: \(answer)")
                #expect(answer.body.contains("lacks the right"), "\(answer.body)")
                #expect(!answer.body.contains("secret") && !answer.body.contains("orders-team"), "\(answer.body)")
                #expect(try Self.call(port, method, path, body: body(), token: nil).status == 401, "\(route) without a token")
                #expect(try Self.call(port, method, path, body: body(), token: "wrong").status == 401, "\(route), wrong token")
            }
            let answer = try Self.call(port, method, path, body: body(), token: allowed)
            // `/` redirects to the dashboard.
            let expected = route == "GET /" ? 302..<303 : 200..<300
            #expect(expected.contains(answer.status), "\(route) with its right: \(answer)")
            if route == "POST /v1/locks/{name}" {
                lockToken = ServeProcess.object(answer.body)["token"] as? String ?? ""
                // The list shows a scoped caller only the locks its rights match.
                let mine = try Self.call(port, "GET", "/v1/locks", token: deployer).body
                let theirs = try Self.call(port, "GET", "/v1/locks", token: orders).body
                let all = try Self.call(port, "GET", "/v1/locks", token: "root-secret").body
                #expect(mine.contains("payments-x") && all.contains("payments-x") && !theirs.contains("payments-x"))
            }
        }
        // The grants made through the API are audited with the token's name and the client.
        let log = serve.shoal.stderr
        for action in ["register payments/p1", "lock payments-x", "deregister payments/p1"] {
            #expect(
                log.split(separator: "\n").contains {
                    $0.contains(action) && $0.contains("token=payments-deployer") && $0.contains("client=127.0.0.1")
                }, "\(action) not audited: \(log)")
        }
        #expect(!log.contains("renew"), "renewals are not audited")
    }
}

/// The tokens file and `shoal token`, as an operator meets them.
@Suite("tokens files and shoal token: made, refused when wrong, reloaded on SIGHUP", .serialized)
struct TokensFileTests {
    @Test("shoal token new prints a token and its hash; shoal token hash reads one on standard input")
    func tokenCommands() async throws {
        let made = try await ShoalProcess.run(["token", "new"])
        #expect(made.status == 0)
        let lines = made.output.split(separator: "\n")
        let token = try #require(lines.first { $0.hasPrefix("token:") }?.split(separator: " ").last.map(String.init))
        let hash = lines.first { $0.hasPrefix("sha256:") }?.split(separator: " ").last.map(String.init)
        #expect(token.count >= 43 && hash?.count == 64, "\(made.output)")
        #expect(hash == AdminTokens.hash(token))
        let hashed = try await ShoalProcess.run(["token", "hash"], stdin: Data("\(token)\n".utf8))
        #expect(hashed.status == 0 && hashed.output == "\(AdminTokens.hash(token))\n", "\(hashed.output)")
        let empty = try await ShoalProcess.run(["token", "hash"], stdin: Data())
        #expect(empty.status == 2 && empty.stderr.contains("no token on standard input"), "\(empty.stderr)")
    }

    @Test("a tokens file that does not parse, or names an unknown right, stops serve with exit 2")
    func badFiles() async throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let hash = AdminTokens.hash("x")
        let cases: [(String, String)] = [
            ("tokens: [", "is not YAML"),
            ("other: 1", "must hold one key, tokens:"),
            ("tokens:\n  - name: a\n    sha256: \(hash)\n    rights: [admin]", "unknown right 'admin'"),
            ("tokens:\n  - name: a\n    sha256: abc\n    rights: [read]", "sha256 is not 64 hex digits"),
            ("tokens:\n  - name: a\n    sha256: \(hash)\n    rights: [read]\n  - name: a\n    sha256: \(hash)\n    rights: [read]", "names 'a' twice"),
            ("tokens:\n  - name: a\n    sha256: \(hash)", "no list of rights"),
            ("tokens:\n  - name: a\n    sha256: \(hash)\n    rights: [read]\n    role: x", "unknown key 'role'"),
        ]
        for (text, message) in cases {
            let file = directory.appendingPathComponent("tokens.yaml")
            try Data(text.utf8).write(to: file)
            let run = try await ShoalProcess.run(["serve", "--check", "--tokens", file.path])
            #expect(run.status == 2, "\(text): \(run.stderr)")
            #expect(run.stderr.contains(message) && run.stderr.contains(file.path), "\(text): \(run.stderr)")
        }
        let missing = try await ShoalProcess.run(["serve", "--check", "--tokens", "/nonexistent/tokens.yaml"])
        #expect(missing.status == 2 && missing.stderr.contains("cannot be read"), "\(missing.stderr)")
    }

    @Test("SIGHUP reloads the file: a new token works, a removed one gets 401; a broken file keeps the old")
    func reload() async throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("tokens.yaml")
        func write(_ entries: [(String, String)]) throws {
            let text = "tokens:\n" + entries.map { "  - name: \($0.0)\n    sha256: \(AdminTokens.hash($0.1))\n    rights: [read]\n" }.joined()
            try Data(text.utf8).write(to: file)
        }
        try write([("first", "one")])
        let serve = try await ServeProcess(["--tokens", file.path])
        defer { serve.stop() }
        #expect(try await serve.request("GET", "/v1/services", token: "one").status == 200)
        #expect(try await serve.request("GET", "/v1/services", token: "two").status == 401)
        try write([("second", "two")])
        serve.shoal.process.signal(SIGHUP)
        #expect(await eventually(within: 10) { serve.shoal.stderr.contains("SIGHUP: 1 tokens from") })
        #expect(try await serve.request("GET", "/v1/services", token: "two").status == 200)
        #expect(try await serve.request("GET", "/v1/services", token: "one").status == 401)
        try Data("tokens: [".utf8).write(to: file)
        serve.shoal.process.signal(SIGHUP)
        #expect(await eventually(within: 10) { serve.shoal.stderr.contains("the tokens in use stay") })
        #expect(try await serve.request("GET", "/v1/services", token: "two").status == 200)
        // A file that lists no token closes the API: it does not open it.
        try Data("tokens: []".utf8).write(to: file)
        serve.shoal.process.signal(SIGHUP)
        #expect(await eventually(within: 10) { serve.shoal.stderr.contains("SIGHUP: 0 tokens from") })
        #expect(try await serve.request("GET", "/v1/services").status == 401)
        #expect(try await serve.request("GET", "/v1/services", token: "two").status == 401)
        #expect(try await serve.request("GET", "/healthz").status == 200)
    }
}

/// schemathesis, from the OpenAPI file, against a `shoal serve` whose tokens file gives the
/// token it uses scoped rights: no request it makes gets a 5xx.
@Suite("schemathesis against the admin API's OpenAPI file, with a scoped token", .serialized)
struct AdminSchemathesisTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("no 5xx for any request generated from Docs/registry-api.yaml")
    func noServerErrors() async throws {
        let st = Self.repository.appendingPathComponent(".build/schemathesis/bin/st")
        try #require(
            FileManager.default.isExecutableFile(atPath: st.path), "schemathesis is missing: scripts/test installs it")
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("tokens.yaml")
        let tokens = """
            tokens:
              - name: schemathesis
                sha256: \(AdminTokens.hash("st-secret"))
                rights: [read, "register:*", "lock:*", status]
            """
        try Data(tokens.utf8).write(to: file)
        let serve = try await ServeProcess(["--tokens", file.path])
        defer { serve.stop() }
        // The events stream never ends, and blocking queries and lock waits may wait longer
        // than a request's timeout: those end as timeouts, never as answers, so they are left
        // out or not counted. Coverage is left out: schemathesis 4.32.5 trips over its own
        // code generation there.
        let result = try await blocking {
            try ChildProcess.run(
                st,
                [
                    "run", Self.repository.appendingPathComponent("Docs/registry-api.yaml").path, "--url",
                    "http://127.0.0.1:\(serve.port)", "-H", "Authorization: Bearer st-secret", "--checks",
                    "not_a_server_error", "--phases", "examples,fuzzing", "--max-examples", "10",
                    "--exclude-path-regex", "/events$", "--request-timeout", "1", "--seed", "20261204", "-w", "2",
                ])
        }
        let output = result.output
        #expect(output.contains("generated"), "\(output) \(result.stderr)")
        #expect(!output.contains("Server error"), "\(output)")
        #expect(!output.contains("not_a_server_error") || !output.contains("FAILURES"), "\(output)")
        let passed = output.firstMatch(of: /(\d+) generated, (\d+) passed/).map { Int($0.2) ?? 0 } ?? 0
        #expect(passed >= 40, "\(output)")
        #expect(serve.shoal.process.isRunning)
    }
}
