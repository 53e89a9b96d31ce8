import ArgumentParser
import Foundation
import ShoalHashing

/// `shoal ring analyze`: load balance, key movement, lookup speed and build time of an algorithm.
struct RingAnalyzeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Measure an algorithm: per-node load, keys moved on add and remove, lookup and build time.",
        discussion: """
            Nodes are 10.a.b.c:11211 with weight 1; keys are key:0, key:1, … Movement is measured \
            by adding one node and by removing the last node. Lookup time is the mean over passes \
            through all keys on one thread. With --bounded-load C, keys are placed by consistent \
            hashing with bounded loads (ε = C − 1) over ring64 or maglev.
            """
    )

    @OptionGroup var placement: PlacementOptions

    @Option(help: "Number of nodes (2...100000).")
    var nodes: Int = 100

    @Option(help: "Number of keys (1...100000000).")
    var keys: Int = 1_000_000

    @Option(name: .customLong("bounded-load"), help: "Cap each node at C × the mean load (C ≥ 1; ring64 and maglev).")
    var boundedLoad: Double?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run() async throws {
        guard (2...100_000).contains(nodes) else {
            throw UsageError("--nodes must be in 2...100000, not \(nodes)")
        }
        guard (1...100_000_000).contains(keys) else {
            throw UsageError("--keys must be in 1...100000000, not \(keys)")
        }
        let algorithm = try placement.algorithm()
        if let boundedLoad {
            guard boundedLoad.isFinite, boundedLoad >= 1 else {
                throw UsageError(
                    "--bounded-load must be a number ≥ 1 (1.25 caps nodes at 125 % of the mean), not \(boundedLoad)")
            }
            guard algorithm == .ring64 || algorithm == .maglev else {
                throw UsageError("--bounded-load works with ring64 and maglev, not \(algorithm)")
            }
        }
        let options = try placement.hashRingOptions()
        let report: RingAnalysis
        do {
            report = try RingAnalysis.measure(
                algorithm: algorithm, options: options,
                nodeCount: nodes, keyCount: keys, boundedLoad: boundedLoad,
                showProgress: StandardError.isTerminal && keys >= 200_000)
        } catch {
            throw UsageError(PlacementOptions.flag(for: error.code) + error.message)
        }
        var output = StandardOutput()
        try output.append(json ? report.json : Self.table(report))
        try output.flush()
    }

    static func table(_ r: RingAnalysis) -> String {
        var settings = ""
        if let points = r.pointsPerNode { settings += ", \(points) points per node" }
        if let size = r.tableSize { settings += ", table size \(size)" }
        if let load = r.boundedLoad { settings += ", bounded load \(format(load, 2))" }
        return """
            \(r.algorithm): \(r.nodes) nodes, \(r.keys) keys\(settings)
            load per node   min \(r.min)  mean \(format(r.mean, 1))  max \(r.max)  \
            peak-to-mean \(format(r.peakToMean, 3))  stddev \(format(r.stddevPercent, 2))%
            keys moved      add a node \(percent(r.movedOnAdd)) (ideal \(percent(r.idealMoved)))  \
            remove the last \(percent(r.movedOnRemove)) (ideal \(percent(r.idealMovedOnRemove)))
            lookup          \(format(r.lookupNs, 1)) ns/op (of which hashing the key \(format(r.hashNs, 1)) ns)
            build           \(format(r.buildMs, 2)) ms

            """ + buildNote
    }

    /// Timings from a debug build are several times slower than a release build's.
    static var buildNote: String {
        #if DEBUG
            "note: debug build; for release timings run: swift run -c release shoal ring analyze\n"
        #else
            ""
        #endif
    }

    static func format(_ value: Double, _ digits: Int) -> String {
        String(format: "%.\(digits)f", value)
    }

    static func percent(_ fraction: Double) -> String {
        String(format: "%.2f%%", fraction * 100)
    }
}
