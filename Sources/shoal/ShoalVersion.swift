import ShoalBuildInfo

/// What `shoal --version` prints: the version, and the commit when `scripts/release` built it.
enum ShoalVersion {
    /// The version of this source tree; `scripts/release` names its tarball after it.
    static let current = "0.1.0"

    /// The commit the binary was built from, or `nil` for a build that did not record it
    /// (`swift build` run by hand).
    static var commit: String? {
        let recorded = String(cString: shoal_build_commit())
        return recorded.isEmpty ? nil : recorded
    }

    /// The `--version` line: `0.1.0 (commit 83eeb98…)`, or `0.1.0 (commit not recorded: built
    /// without scripts/release)`.
    static var description: String {
        "\(current) (commit \(commit ?? "not recorded: built without scripts/release"))"
    }
}
