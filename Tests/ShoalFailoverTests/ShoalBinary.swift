import Foundation

/// The `shoal` built next to the test bundle, as `swift build` leaves it.
enum ShoalBinary {
    static var path: String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("shoal").path
    }

    /// A scratch file for a child's output.
    static func scratchFile(_ label: String) -> String {
        FileManager.default.temporaryDirectory.appending(path: "shoal-failover-\(label)-\(UUID().uuidString)").path
    }

    /// Milliseconds since the epoch, as `shoal fenced-counter` prints its grant times.
    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
