import Foundation

/// The `shoal` the lab runs: `SHOAL_BINARY` when set (scripts/test-release points it at the
/// release tarball's), else the one built next to the test bundle, as `swift build` leaves it.
enum ShoalBinary {
    static var path: String {
        if let chosen = ProcessInfo.processInfo.environment["SHOAL_BINARY"], !chosen.isEmpty { return chosen }
        return URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("shoal").path
    }

    /// A scratch file for a child's output.
    static func scratchFile(_ label: String) -> String {
        FileManager.default.temporaryDirectory.appending(path: "shoal-failover-\(label)-\(UUID().uuidString)").path
    }

    /// Milliseconds since the epoch, as `shoal fenced-counter` prints its grant times.
    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
