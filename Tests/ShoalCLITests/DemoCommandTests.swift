import Foundation
import Testing

@Suite("shoal demo")
struct DemoCommandTests {
    @Test("plain lines when not on a terminal; no request fails when an instance is killed; the slowed one loses its share")
    func demo() async throws {
        let result = try await ShoalProcess.run(["demo", "--duration", "6s"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.output.split(separator: "\n")
        #expect(lines.first?.hasPrefix("shoal demo: gateway on http://127.0.0.1:") == true)
        #expect(lines.filter { $0.hasPrefix("t=") && $0.contains(" req/s ") }.count >= 5)
        #expect(!result.output.contains("\u{1B}["))  // no terminal control codes
        #expect(result.output.contains("event: killed svc-5"))
        #expect(result.output.contains("event: slowed svc-2 from 4 ms to 40 ms"))
        #expect(result.output.contains(" 0 failed as the clients saw them"), "\(result.output)")
        // "svc-2's share: 17% before it slowed, 0% after (from 2 s later)"
        let shareLine = try #require(lines.first { $0.contains("svc-2's share:") })
        let percents = shareLine.split(separator: " ").filter { $0.hasSuffix("%") }.compactMap { Int($0.dropLast()) }
        #expect(percents.count == 2)
        if percents.count == 2 { #expect(percents[1] * 3 < percents[0], "\(shareLine)") }
    }

    @Test("bad flags exit 2 naming the flag")
    func badFlags() async throws {
        let short = try await ShoalProcess.run(["demo", "--duration", "1s"])
        #expect(short.status == 2 && short.stderr.contains("--duration"))
        let clients = try await ShoalProcess.run(["demo", "--clients", "0"])
        #expect(clients.status == 2 && clients.stderr.contains("--clients"))
    }
}
