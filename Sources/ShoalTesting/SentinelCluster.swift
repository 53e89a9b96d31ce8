import Foundation
import ShoalRESP

/// A primary, its replicas and the sentinels that watch them: real `redis-server` and
/// `redis-sentinel` processes, on loopback or on the hosts of a ``NetworkLab``.
///
/// ```swift
/// let cluster = try SentinelCluster.start()            // 1 primary, 2 replicas, 3 sentinels
/// let locks = RedisLock(configuration: try RedisConfiguration(url: cluster.url))
/// let old = try cluster.primary()
/// old.kill()
/// let new = try await cluster.failover(from: old)      // the sentinels promoted a replica
/// ```
///
/// On loopback every process gets a free port; on a lab host, the standard ports (6379 and
/// 26379) on the host's own address. Persistence is off. Everything stops when the value is
/// released.
public final class SentinelCluster: Sendable {
    /// The name the sentinels know the primary by.
    public let name: String
    /// The data nodes; the first started as the primary.
    public let servers: [RedisServer]
    public let sentinels: [RedisSentinelProcess]
    /// The password of the data nodes and of the sentinels, if any.
    public let password: String?
    public let downAfterMilliseconds: Int

    private init(
        name: String, servers: [RedisServer], sentinels: [RedisSentinelProcess], password: String?,
        downAfterMilliseconds: Int
    ) {
        self.name = name
        self.servers = servers
        self.sentinels = sentinels
        self.password = password
        self.downAfterMilliseconds = downAfterMilliseconds
    }

    /// Starts the data nodes, waits until the replicas are in sync, starts the sentinels, and
    /// waits until every sentinel sees the replicas and the other sentinels.
    public static func start(
        name: String = "shoal", servers: [TestHost] = Array(repeating: .loopback, count: 3),
        sentinels: [TestHost] = Array(repeating: .loopback, count: 3), downAfterMilliseconds: Int = 1000,
        password: String? = nil
    ) throws -> SentinelCluster {
        precondition(!servers.isEmpty && !sentinels.isEmpty, "a cluster needs a server and a sentinel")
        var common = ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]
        if let password { common += ["--requirepass", password, "--masterauth", password] }
        let primary = try RedisServer.start(on: servers[0], port: try port(servers[0], 6379), extraArguments: common)
        var nodes = [primary]
        for site in servers.dropFirst() {
            nodes.append(
                try RedisServer.start(
                    on: site, port: try port(site, 6379),
                    extraArguments: common + ["--replicaof", primary.host, String(primary.port)]))
        }
        try waitUntil("the replicas of \(primary.host):\(primary.port) are in sync", within: 20) {
            try Self.replicasInSync(primary) == nodes.count - 1
        }
        let quorum = sentinels.count / 2 + 1
        var watchers: [RedisSentinelProcess] = []
        for site in sentinels {
            watchers.append(
                try RedisSentinelProcess.start(
                    on: site, port: try port(site, 26379), watching: primary, name: name, quorum: quorum,
                    downAfterMilliseconds: downAfterMilliseconds, password: password))
        }
        try waitUntil("every sentinel sees \(nodes.count - 1) replicas and \(sentinels.count - 1) other sentinels", within: 30) {
            try watchers.allSatisfy { sentinel in
                let state = try sentinel.primaryState(name, password: password)
                return state["num-slaves"] == String(nodes.count - 1)
                    && state["num-other-sentinels"] == String(watchers.count - 1)
            }
        }
        return SentinelCluster(
            name: name, servers: nodes, sentinels: watchers, password: password,
            downAfterMilliseconds: downAfterMilliseconds)
    }

    /// `redis-sentinel://[:PASSWORD@]HOST:PORT,…#NAME`, the form `RedisConfiguration(url:)` reads.
    public var url: String {
        let credentials =
            RedisServer.restrictsUser
            ? "\(RedisServer.restrictedUser):\(RedisServer.restrictedPassword)@" : password.map { ":\($0)@" } ?? ""
        let hosts = sentinels.map { "\($0.host):\($0.port)" }.joined(separator: ",")
        return "redis-sentinel://\(credentials)\(hosts)#\(name)"
    }

    /// The data node the first sentinel that answers names as the primary.
    public func primary() throws -> RedisServer {
        var failures: [String] = []
        for sentinel in sentinels {
            do {
                let reply = try sentinel.command(
                    ["SENTINEL", "get-master-addr-by-name", name], password: password, timeout: 0.5)
                guard case .array(let parts) = reply, parts.count == 2, let host = parts[0].string,
                    let port = parts[1].string.flatMap(Int.init)
                else { throw RedisServerError("it answered \(reply)") }
                guard let server = servers.first(where: { $0.host == host && $0.port == port }) else {
                    throw RedisServerError("it named \(host):\(port), which is not one of this cluster's servers")
                }
                return server
            } catch {
                failures.append("\(sentinel.host):\(sentinel.port): \(error)")
            }
        }
        throw RedisServerError("no sentinel named the primary: \(failures.joined(separator: "; "))")
    }

    /// Waits until the sentinels name a primary other than `old`, and that server says it is
    /// one (`ROLE`); returns it.
    public func failover(from old: RedisServer, within seconds: Double = 30) async throws -> RedisServer {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if let server = try? primary(), server !== old, Self.isPrimary(server) { return server }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw RedisServerError("the sentinels did not promote a replica of \(old.host):\(old.port) within \(seconds) s")
    }

    /// Whether `server` answers `ROLE` as a primary.
    public static func isPrimary(_ server: RedisServer) -> Bool {
        guard case .array(let parts) = try? server.command("ROLE", timeout: 0.5) else { return false }
        return parts.first?.string == "master"
    }

    /// Stops every process.
    public func stop() {
        for sentinel in sentinels { sentinel.stop() }
        for server in servers { server.stop() }
    }

    /// How many replicas `primary` has in sync (`state=online` in `INFO replication`).
    public static func replicasInSync(_ primary: RedisServer) throws -> Int {
        let info = try primary.command("INFO", "replication").string ?? ""
        return info.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("slave") && $0.contains("state=online") }
            .count
    }

    private static func port(_ site: TestHost, _ standard: Int) throws -> Int {
        site.namespace == nil ? try RedisServer.freePort() : standard
    }

    private static func waitUntil(_ what: String, within seconds: Double, _ condition: () throws -> Bool) throws {
        var waited = 0.0
        var lastError: (any Error)?
        while waited < seconds {
            do {
                if try condition() { return }
            } catch {
                lastError = error
            }
            usleep(50_000)
            waited += 0.05
        }
        throw RedisServerError("\(what): not within \(seconds) s\(lastError.map { " (last error: \($0))" } ?? "")")
    }
}
