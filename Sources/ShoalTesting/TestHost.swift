/// Where a test runs a process: this machine's loopback, or a host of a ``NetworkLab`` (a
/// network namespace with an address of its own).
///
/// ```swift
/// let redis = try RedisServer.start(on: lab.host(2), port: 6379)
/// ```
public struct TestHost: Sendable, Hashable, CustomStringConvertible {
    /// The address the host's servers listen on, and that other hosts reach it at.
    public let address: String
    /// The network namespace the host's processes run in; `nil` for loopback.
    public let namespace: String?

    /// This machine's loopback, 127.0.0.1, without a namespace.
    public static let loopback = TestHost(address: "127.0.0.1", namespace: nil)

    public init(address: String, namespace: String?) {
        self.address = address
        self.namespace = namespace
    }

    public var description: String { namespace.map { "\($0) (\(address))" } ?? address }

    /// Starts `path` on this host: in its namespace (through `ip netns exec`, which becomes
    /// the program, so the process's id is the program's and signals reach it), or here.
    public func spawn(
        _ path: String, _ arguments: [String], standardOutput: String = "/dev/null",
        standardError: String = "/dev/null", environment: [String: String] = [:]
    ) throws -> SpawnedProcess {
        guard let namespace else {
            return try SpawnedProcess.spawn(
                path, arguments, standardOutput: standardOutput, standardError: standardError,
                environment: environment)
        }
        return try SpawnedProcess.spawn(
            NetworkLab.ip, ["netns", "exec", namespace, path] + arguments, standardOutput: standardOutput,
            standardError: standardError, environment: environment)
    }
}
