import Foundation
import Testing

@Suite("shoal ring analyze")
struct RingAnalyzeTests {
    static func analyze(_ arguments: [String]) async throws -> [String: Any] {
        let result = try await ShoalProcess.run(["ring", "analyze", "--json"] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
    }

    @Test(
        "--json has every figure, with sane values",
        arguments: ["ketama", "ketama-classic", "ring64", "jump", "rendezvous", "maglev"])
    func jsonFigures(algorithm: String) async throws {
        let report = try await Self.analyze(["--algorithm", algorithm, "--nodes", "20", "--keys", "20000"])
        for key in [
            "peak_to_mean", "stddev_percent", "moved_on_add", "moved_on_remove", "ideal_moved", "lookup_ns", "build_ms",
        ] {
            #expect(report[key] is Double || report[key] is Int, "\(key) missing")
        }
        let peak = try #require(report["peak_to_mean"] as? Double)
        #expect(peak >= 1 && peak < 2)
        #expect(abs(try #require(report["ideal_moved"] as? Double) - 1.0 / 21) < 1e-12)
        let moved = try #require(report["moved_on_add"] as? Double)
        #expect(moved > 0 && moved < 0.2)
        // 20,000 keys on 20 nodes: 1,000 on average, the busiest node's load is the peak.
        let least = try #require(report["min"] as? Int)
        let most = try #require(report["max"] as? Int)
        #expect(least <= 1_000 && 1_000 <= most && least > 0, "min \(least), max \(most)")
        #expect(abs(Double(most) / 1_000 - peak) < 1e-9, "max \(most) against peak-to-mean \(peak)")
    }

    @Test("--bounded-load caps the busiest node", arguments: ["ring64", "maglev"])
    func boundedLoad(algorithm: String) async throws {
        let plain = try await Self.analyze(
            ["--algorithm", algorithm, "--nodes", "50", "--keys", "50000", "--points", "16"].filter {
                algorithm == "ring64" || !["--points", "16"].contains($0)
            })
        let capped = try await Self.analyze([
            "--algorithm", algorithm, "--nodes", "50", "--keys", "50000", "--bounded-load", "1.05",
        ])
        let cap = (1.05 * 1000).rounded(.up)
        #expect(try #require(capped["max"] as? Int) <= Int(cap))
        #expect(try #require(capped["peak_to_mean"] as? Double) <= 1.05)
        if algorithm == "ring64" {
            #expect(
                try #require(plain["peak_to_mean"] as? Double) > 1.05,
                "16 points per node should be uneven without the cap")
        }
    }

    @Test("the table names every figure")
    func table() async throws {
        let result = try await ShoalProcess.run(["ring", "analyze", "--nodes", "10", "--keys", "5000"])
        #expect(result.status == 0)
        for word in ["peak-to-mean", "stddev", "add a node", "remove the last", "ns/op", "build"] {
            #expect(result.output.contains(word), "\(word)")
        }
    }
}
