import Foundation
import ShoalTesting

/// Runs the built `shoal` binary as a child process.
enum ShoalProcess {
    /// `shoal` next to the test bundle, as `swift build` leaves it.
    static var binary: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("shoal")
    }

    /// Runs `shoal` with `arguments` to its end, on a thread of its own: waiting on a child in
    /// async code would hold one of the few threads all tests share, and stall the rest.
    static func run(
        _ arguments: [String], stdin: Data = Data(), environment: [String: String] = [:]
    ) async throws -> ChildProcess.Result {
        try await blocking { try runBlocking(arguments, stdin: stdin, environment: environment) }
    }

    private static func runBlocking(
        _ arguments: [String], stdin: Data, environment: [String: String]
    ) throws -> ChildProcess.Result {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "\(binary.path): run `swift build` first"])
        }
        return try ChildProcess.run(binary, arguments, stdin: stdin, environment: environment)
    }

    /// The reference vectors of the hashing tests.
    static let vectors = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("ShoalHashingTests/Vectors")
}
