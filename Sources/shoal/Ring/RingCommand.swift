import ArgumentParser
import ShoalHashing

/// `shoal ring`: place keys on nodes and measure placement algorithms.
struct RingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ring",
        abstract: "Place keys with a consistent-hashing algorithm, or measure one.",
        subcommands: [RingPlaceCommand.self, RingAnalyzeCommand.self]
    )
}

/// The options both `ring` subcommands share.
struct PlacementOptions: ParsableArguments {
    @Option(name: .customLong("algorithm"), help: "ketama | ketama-classic | ring64 | jump | rendezvous | maglev")
    var algorithmName = HashRing.Algorithm.ring64.rawValue

    /// The `--algorithm`, or a usage error listing the choices.
    func algorithm() throws(UsageError) -> HashRing.Algorithm {
        guard let algorithm = HashRing.Algorithm(rawValue: algorithmName) else {
            let choices = HashRing.Algorithm.allCases.map(\.rawValue).joined(separator: ", ")
            throw UsageError("--algorithm '\(algorithmName)' is not one of \(choices)")
        }
        return algorithm
    }

    @Option(
        help: """
            Points per node of weight 1 (ring64 only; default \(Ring64.defaultPointsPerNode) up to 4096 nodes, \
            then \(Ring64.automaticPointBudget) points in all).
            """)
    var points: Int?

    @Option(
        name: .customLong("table-size"),
        help: """
            Maglev table size, a prime (maglev only; default \(MaglevTable.defaultTableSize) up to 655 nodes, \
            then the first prime above the power of two ≥ 100 × nodes).
            """)
    var tableSize: Int?

    /// The library options, after checking that each given flag applies to the algorithm.
    func hashRingOptions() throws(UsageError) -> HashRing.Options {
        let algorithm = try algorithm()
        var options = HashRing.Options()
        if let points {
            guard algorithm == .ring64 else {
                throw UsageError("--points applies to ring64 only, not \(algorithm)")
            }
            options.pointsPerNode = points
        }
        if let tableSize {
            guard algorithm == .maglev else {
                throw UsageError("--table-size applies to maglev only, not \(algorithm)")
            }
            options.tableSize = tableSize
        }
        return options
    }

    /// Builds the placement, turning library errors into usage errors that name the flag.
    func makeRing(nodes: [ParsedNode]) throws(UsageError) -> HashRing {
        let options = try hashRingOptions()
        let algorithm = try algorithm()
        do {
            return try HashRing(nodes: nodes.map(\.endpoint), algorithm: algorithm, options: options)
        } catch {
            throw UsageError(Self.flag(for: error.code) + error.message)
        }
    }

    /// The flag a library error is about, as a message prefix.
    static func flag(for code: HashRingError.Code) -> String {
        switch code {
        case .invalidPointsPerNode: "--points: "
        case .invalidTableSize: "--table-size: "
        case .invalidLoadFactor: "--bounded-load: "
        default: "--node: "
        }
    }
}
