import Foundation
import ShoalTesting
import Testing

/// Headless Chromium, which scripts/test installs: it loads the dashboard as a person's
/// browser would, runs its script against a live `shoal serve`, and prints the page.
enum Chromium {
    static let path = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// scripts/test sets SHOAL_REQUIRE_REFERENCES=1 so that a missing browser fails the run.
    static var isRequired: Bool { ProcessInfo.processInfo.environment["SHOAL_REQUIRE_REFERENCES"] == "1" }

    /// The page at `url` as its scripts left it after `milliseconds` of the browser's virtual
    /// time: timers run as soon as nothing else is pending, so a page that polls every second
    /// polls several times in about a second of real time.
    static func page(_ url: String, milliseconds: Int = 5000) async throws -> String {
        guard let path else { throw RedisServerError("chromium is not installed (scripts/test installs it)") }
        let profile = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: profile) }
        let arguments = [
            "60", path, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile.path)",
            "--virtual-time-budget=\(milliseconds)", "--dump-dom", url,
        ]
        let result = try await blocking { try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/timeout"), arguments) }
        guard result.status == 0 else {
            throw RedisServerError("chromium exited with \(result.status): \(result.stderr.suffix(2000))")
        }
        return result.output
    }
}

@Suite("The dashboard on the admin listener", .serialized)
struct DashboardTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/ShoalAdmin/Dashboard").standardized

    @Test("its files are served as they are in the repository, without the token, which its data still needs")
    func files() async throws {
        let serve = try await ServeProcess(["--token", "secret"])
        defer { serve.stop() }
        #expect(serve.shoal.stderr.contains("shoal: dashboard on http://127.0.0.1:\(serve.port)/dashboard\n"))
        let connection = try RawConnection(port: serve.port)
        #expect(connection.send("GET / HTTP/1.1\r\nHost: shoal\r\n\r\n"))
        let root = try #require(connection.readResponse())
        #expect(root.status == 302 && root.head.lowercased().contains("\r\nlocation: /dashboard\r\n"), "\(root.head)")

        for (path, file, type) in [
            ("/dashboard", "dashboard.html", "text/html"),
            ("/dashboard/dashboard.js", "dashboard.js", "text/javascript"),
            ("/dashboard/dashboard.css", "dashboard.css", "text/css"),
        ] {
            #expect(connection.send("GET \(path) HTTP/1.1\r\nHost: shoal\r\n\r\n"))
            let answer = try #require(connection.readResponse())
            let head = answer.head.lowercased()
            #expect(answer.status == 200, "\(path): \(answer.head)")
            #expect(head.contains("\r\ncontent-type: \(type); charset=utf-8\r\n"), "\(path): \(answer.head)")
            #expect(head.contains("content-security-policy: default-src 'self'; frame-ancestors 'none'"), "\(path)")
            #expect(head.contains("\r\nx-content-type-options: nosniff\r\n"), "\(path)")
            let expected = try Data(contentsOf: Self.directory.appendingPathComponent(file))
            #expect(Data(answer.body) == expected, "\(path) is not \(file) as committed")
        }
        #expect(try await serve.request("GET", "/v1/gateway").status == 401)
        #expect(try await serve.request("GET", "/metrics").status == 401)
    }
}

@Suite(
    "The dashboard in a real browser",
    .serialized,
    .enabled(if: Chromium.path != nil || Chromium.isRequired, "needs chromium (scripts/test installs it)"))
struct DashboardBrowserTests {
    @Test(
        "it shows each route's instances with their shares of live traffic, a route with none, the registry and the locks"
    )
    func live() async throws {
        let routed = try await RoutedGateway([])
        defer { routed.stop() }
        let serve = routed.serve
        let second = try await SampleServiceProcess(name: "web-2")
        defer { second.stop() }
        // Metadata with markup: the page must show it as text.
        let registered = try await serve.request(
            "PUT", "/v1/services/web/instances/web-2",
            body: #"{"address":"127.0.0.1","port":\#(second.port),"ttl":"5m","metadata":{"note":"<img src=x>"}}"#)
        #expect(registered.status == 200)
        #expect(
            await eventually(within: 10) {
                (try? await serve.request("GET", "/v1/gateway"))?.body.contains("127.0.0.1:\(second.port)") == true
            })
        #expect(try await serve.request("POST", "/v1/locks/nightly-backup", body: #"{"ttl":"5m"}"#).status == 200)

        // Traffic from a process of its own (two clients, for at most a minute), so that it
        // flows while the browser runs even when this process's threads are busy.
        let client = """
            import threading, urllib.request, time
            def send():
                end = time.time() + 60
                while time.time() < end:
                    urllib.request.urlopen("http://127.0.0.1:\(serve.gatewayPort)/api/x").read()
            for _ in range(2): threading.Thread(target=send, daemon=True).start()
            time.sleep(60)
            """
        let traffic = try SpawnedProcess.spawn("/usr/bin/python3", ["-c", client])
        defer { traffic.kill() }
        #expect(
            await eventually(within: 20) {
                let metrics = (try? await serve.request("GET", "/metrics"))?.body ?? ""
                return metrics.contains(#"shoal_gateway_requests_total{route="/api",upstream="127.0.0.1"#)
            })
        let page = try await Chromium.page("http://127.0.0.1:\(serve.port)/dashboard")

        #expect(page.contains(#"<span id="state" class="state live">live · "#), "\(page.prefix(3000))")
        let api = try #require(Self.element(#"<article class="route" data-route="/api">"#, "</article>", in: page))
        let shares = Self.values(of: "data-share", in: api).compactMap(Double.init)
        #expect(shares.count == 2, "\(api)")
        #expect(abs(shares.reduce(0, +) - 100) < 1.5, "\(shares)")
        for (port, id) in [(routed.web.port, "web-1"), (second.port, "web-2")] {
            #expect(api.contains(#"data-instance="127.0.0.1:\#(port)""#), "\(api)")
            // With the registry's id beside the address.
            #expect(api.contains(#"127.0.0.1:\#(port)<span class="id"> \#(id)</span>"#), "\(api)")
        }
        let rate = try #require(Self.element(#"<b class="route-rate">"#, "</b>", in: api))
        #expect((Double(rate.replacingOccurrences(of: ",", with: "")) ?? 0) > 0, "\(rate)")
        #expect(!api.contains("p50 <b>–</b>"), "no latency percentile: \(api)")
        let total = try #require(Self.element(#"id="requests-rate">"#, "</div>", in: page))
        #expect((Double(total.replacingOccurrences(of: ",", with: "")) ?? 0) > 0, "\(total)")
        // The sparkline of requests a second: a point per poll after the first.
        let history = try #require(Self.element(#"id="requests-history""#, "</svg>", in: page))
        let points = Self.values(of: "points", in: history).first?.split(separator: " ") ?? []
        #expect(points.count >= 2, "\(history)")

        let orders = try #require(Self.element(#"data-route="/api/orders">"#, "</article>", in: page))
        #expect(orders.contains("No instance of orders passes its checks"), "\(orders)")
        let web = try #require(Self.element(#"data-service="web">"#, "</article>", in: page))
        #expect(web.contains("2 passing · 0 warning · 0 critical"), "\(web)")
        #expect(web.contains("note=&lt;img src=x&gt;") && !page.contains("<img"), "\(web)")
        #expect(page.contains(#"<tr data-lock="nightly-backup">"#), "\(page)")
    }

    @Test("behind a token, it asks for the token and shows nothing else")
    func token() async throws {
        let serve = try await ServeProcess(["--token", "secret"])
        defer { serve.stop() }
        let page = try await Chromium.page("http://127.0.0.1:\(serve.port)/dashboard", milliseconds: 2000)
        #expect(page.contains(#"<form id="token-form">"#), "\(page)")
        #expect(page.contains(#"<main id="main" hidden="">"#), "\(page)")
        #expect(page.contains("needs the admin token"), "\(page)")
    }

    /// The text from `start` to the first `end` after it.
    static func element(_ start: String, _ end: String, in page: String) -> String? {
        guard let from = page.range(of: start) else { return nil }
        guard let to = page.range(of: end, range: from.upperBound..<page.endIndex) else { return nil }
        return String(page[from.upperBound..<to.lowerBound])
    }

    /// The values of every `attribute="…"` in `html`.
    static func values(of attribute: String, in html: String) -> [String] {
        html.components(separatedBy: "\(attribute)=\"").dropFirst().compactMap { $0.split(separator: "\"").first }
            .map(String.init)
    }
}
