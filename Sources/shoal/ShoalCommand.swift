import ArgumentParser

/// `shoal`: the gateway, registry and lock service for services in any language, and tools
/// for the parts they are built from.
struct ShoalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shoal",
        abstract: "Consistent hashing, balancing, discovery and locks for distributed services.",
        discussion: """
            Exit codes: 0 success, 1 failure while running, 2 bad usage (a malformed flag, \
            node or value; the message names it). `shoal lock` adds its own; see \
            `shoal lock --help`.
            """,
        version: ShoalVersion.description,
        subcommands: [
            DemoCommand.self, ServeCommand.self, RingCommand.self, BenchCommand.self, LockCommand.self,
            TokenCommand.self, SampleServiceCommand.self, FencedCounterCommand.self,
        ]
    )
}
