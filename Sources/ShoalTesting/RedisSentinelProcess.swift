import Foundation
import ShoalRedis
import ShoalRESP
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A real `redis-sentinel` watching one primary, for tests: its configuration file is
/// written to a directory of its own (Sentinel rewrites the file as it learns) and removed
/// when the value is released.
public final class RedisSentinelProcess: Sendable {
    public let site: TestHost
    public let port: Int
    private let directory: URL
    private let process: Mutex<SpawnedProcess>

    public var host: String { site.address }

    /// Starts a sentinel on `site` that watches `primary` under `name`, and waits until it
    /// answers PING.
    ///
    /// - Parameters:
    ///   - quorum: how many sentinels must agree that the primary is down.
    ///   - downAfterMilliseconds: how long the primary may not answer before this sentinel
    ///     thinks it down.
    ///   - password: the data nodes' password (`auth-pass`), and this sentinel's own.
    public static func start(
        on site: TestHost, port: Int, watching primary: RedisServer, name: String, quorum: Int,
        downAfterMilliseconds: Int, password: String? = nil
    ) throws -> RedisSentinelProcess {
        guard let executable = ["/usr/bin/redis-sentinel", "/usr/local/bin/redis-sentinel"].first(where: {
            FileManager.default.isExecutableFile(atPath: $0)
        }) else {
            throw RedisServerError("redis-sentinel is not installed: run scripts/test, or apt-get install redis-sentinel")
        }
        let directory = FileManager.default.temporaryDirectory.appending(path: "shoal-sentinel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var lines = [
            "port \(port)", "bind \(site.address)", "protected-mode \(site.namespace == nil ? "yes" : "no")",
            "daemonize no", "logfile \"\"", "loglevel warning",
            "dir \(directory.path)", "sentinel resolve-hostnames no",
            "sentinel monitor \(name) \(primary.host) \(primary.port) \(quorum)",
            "sentinel down-after-milliseconds \(name) \(downAfterMilliseconds)",
            // Short, so that a failover that failed (or a second one) is tried again soon.
            "sentinel failover-timeout \(name) \(max(3 * downAfterMilliseconds, 2000))",
            "sentinel parallel-syncs \(name) 2",
        ]
        if let password {
            lines += ["sentinel auth-pass \(name) \(password)", "requirepass \(password)"]
        }
        if RedisServer.restrictsUser {
            lines.append(
                (["user", RedisServer.restrictedUser, "on", ">\(RedisServer.restrictedPassword)"] + RedisACL.sentinelRules)
                    .joined(separator: " "))
        }
        let file = directory.appending(path: "sentinel.conf")
        try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        let process = try site.spawn(executable, [file.path])
        let sentinel = RedisSentinelProcess(site: site, port: port, directory: directory, process: process)
        var waited = 0.0
        while waited < 10 {
            guard process.isRunning else {
                throw RedisServerError("redis-sentinel exited at once on \(site) port \(port)")
            }
            if (try? sentinel.command(["PING"], password: password, timeout: 0.2)) != nil { return sentinel }
            usleep(10_000)
            waited += 0.01
        }
        throw RedisServerError("redis-sentinel on \(site) port \(port) did not answer PING within 10 s")
    }

    private init(site: TestHost, port: Int, directory: URL, process: SpawnedProcess) {
        self.site = site
        self.port = port
        self.directory = directory
        self.process = Mutex(process)
    }

    /// Sends one command (after `AUTH` when a password is given) and returns the reply.
    public func command(_ arguments: [String], password: String? = nil, timeout: TimeInterval = 2) throws -> RESPValue {
        let connection = try RedisTestConnection(host: host, port: port, timeout: timeout)
        if let password { _ = try connection.command(["AUTH", password]) }
        return try connection.command(arguments)
    }

    /// The fields of `SENTINEL master NAME` (RESP2: a flat list of names and values).
    public func primaryState(_ name: String, password: String? = nil) throws -> [String: String] {
        guard case .array(let flat) = try command(["SENTINEL", "master", name], password: password) else { return [:] }
        var fields: [String: String] = [:]
        for index in stride(from: 0, to: flat.count - 1, by: 2) {
            if let key = flat[index].string, let value = flat[index + 1].string { fields[key] = value }
        }
        return fields
    }

    /// Kills the sentinel at once (SIGKILL).
    public func kill() { process.withLock { $0.kill() } }

    /// Stops the sentinel (SIGTERM, then SIGKILL after 5 s) and removes its directory.
    public func stop() {
        process.withLock { process in
            process.signal(SIGCONT)
            process.signal(SIGTERM)
            if !process.waitForExit(seconds: 5) { process.kill() }
        }
        try? FileManager.default.removeItem(at: directory)
    }

    deinit {
        stop()
    }
}
