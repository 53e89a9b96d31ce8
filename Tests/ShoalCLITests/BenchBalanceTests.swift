import Foundation
import Testing

@Suite("shoal bench balance")
struct BenchBalanceTests {
    /// A short run of some scenarios and strategies, parsed from --json.
    static func run(_ arguments: [String]) async throws -> [String: [String: [String: Any]]] {
        let result = try await ShoalProcess.run(["bench", "balance", "--json", "--duration", "30"] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        let scenarios = try #require(object["scenarios"] as? [[String: Any]])
        var table: [String: [String: [String: Any]]] = [:]
        for scenario in scenarios {
            let name = try #require(scenario["name"] as? String)
            for strategy in try #require(scenario["strategies"] as? [[String: Any]]) {
                table[name, default: [:]][try #require(strategy["name"] as? String)] = strategy
            }
        }
        return table
    }

    @Test("Peak EWMA keeps its tail when one backend is slow; round robin's tail grows")
    func oneSlow() async throws {
        let table = try await Self.run([
            "--scenario", "healthy", "--scenario", "one-slow", "--strategy", "roundRobin", "--strategy", "peakEWMA",
        ])
        let healthy = try #require(table["healthy"]?["peakEWMA"]?["p99_ms"] as? Double)
        let ewma = try #require(table["one-slow"]?["peakEWMA"]?["p99_ms"] as? Double)
        let roundRobin = try #require(table["one-slow"]?["roundRobin"]?["p99_ms"] as? Double)
        #expect(ewma < 1.5 * healthy, "Peak EWMA p99 \(ewma) ms against \(healthy) ms when healthy")
        #expect(roundRobin > 3 * healthy, "round robin p99 \(roundRobin) ms against \(healthy) ms")
        let shares = try #require(table["one-slow"]?["peakEWMA"]?["shares"] as? [Double])
        #expect(shares.count == 11)
        #expect(shares[0] < 0.02, "the slow backend took \(shares[0]) of tries")
    }

    @Test("ejection and budgeted retries keep success above 99.9 % with a failing backend")
    func oneFailing() async throws {
        let table = try await Self.run([
            "--scenario", "one-failing", "--strategy", "leastRequest", "--strategy", "peakEWMA",
        ])
        for strategy in ["leastRequest", "peakEWMA"] {
            let success = try #require(table["one-failing"]?[strategy]?["success_rate"] as? Double)
            #expect(success >= 0.999, "\(strategy): \(success)")
        }
    }

    @Test("with one try, the same strategies lose requests that retries saved: the retries above were doing work")
    func withoutRetries() async throws {
        // The same strategies as above, the same seed, one try each.
        let arguments = ["--scenario", "one-failing", "--strategy", "leastRequest", "--strategy", "peakEWMA"]
        let retried = try await Self.run(arguments)
        let once = try await Self.run(arguments + ["--tries", "1"])
        for strategy in ["leastRequest", "peakEWMA"] {
            let with = try #require(retried["one-failing"]?[strategy]?["success_rate"] as? Double)
            let without = try #require(once["one-failing"]?[strategy]?["success_rate"] as? Double)
            // Ejection alone keeps most requests off the failing backend; retries save the rest.
            #expect(without < 1 && without < with, "\(strategy): \(without) with one try, \(with) with retries")
        }
    }

    @Test("the same seed gives the same output")
    func deterministic() async throws {
        let arguments = ["bench", "balance", "--duration", "10", "--scenario", "flapping", "--seed", "9"]
        let first = try await ShoalProcess.run(arguments)
        let second = try await ShoalProcess.run(arguments)
        #expect(first.status == 0)
        #expect(first.output == second.output)
        #expect(first.output.contains("flapping"))
    }

    @Test(
        "bad arguments exit 2 naming the flag",
        arguments: [
            (["--scenario", "meltdown"], "--scenario"),
            (["--strategy", "fastest"], "--strategy"),
            (["--duration", "0"], "--duration"),
            (["--rate", "-3"], "--rate"),
            (["--per-try-timeout", "nan"], "--per-try-timeout"),
            (["--tries", "0"], "--tries"),
            (["--backends", "1"], "--backends"),
            (["--median", "inf"], "--median"),
            (["--sigma", "-1"], "--sigma"),
            (["--concurrency", "0"], "--concurrency"),
            (["--connections", "0"], "--connections"),
            (["--connections", "10000", "--median", "0.001"], "--connections"),
            (["--overhead", "-1"], "--overhead"),
            (["--stall-probability", "2"], "--stall-probability"),
            (["--stall-mean", "nan"], "--stall-mean"),
            (["--wrk-correction"], "--wrk-correction"),
        ])
    func badArguments(arguments: [String], flag: String) async throws {
        let result = try await ShoalProcess.run(["bench", "balance"] + arguments)
        #expect(result.status == 2)
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(result.stderr.contains(flag), "\(result.stderr)")
    }
}
