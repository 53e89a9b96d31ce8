import ArgumentParser

/// `shoal bench`: simulations and measurements.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Simulate and measure Shoal's parts.",
        subcommands: [
            BenchBalanceCommand.self, BenchLockCommand.self, BenchRegistryCommand.self, BenchClientCommand.self,
            BenchEtcdTransportsCommand.self,
        ]
    )
}
