import Foundation
import ShoalTesting

/// Runs the built `shoal` binary as a child process.
enum ShoalProcess {
    /// `shoal` next to the test bundle, as `swift build` leaves it.
    static var binary: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("shoal")
    }

    static func run(
        _ arguments: [String], stdin: Data = Data(), environment: [String: String] = [:]
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
