import Foundation
import ShoalRedis
import NIOCore
import ShoalRESP
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A real `redis-server` for integration tests: started on a free loopback port with
/// persistence off, and stopped when the value is released.
///
/// Fault tests can pause it (SIGSTOP), resume it, kill it (SIGKILL) and restart it on the
/// same port, empty, as a restarted server without persistence would be.
///
/// ```swift
/// let redis = try RedisServer.start()
/// #expect(try redis.command("PING") == .simpleString(ByteBuffer(string: "PONG")))
/// try redis.pause()      // the server stops answering; connections stay open
/// try redis.resume()
/// ```
public final class RedisServer: Sendable {
    /// Where the server runs: loopback, or a host of a ``NetworkLab``.
    public let site: TestHost
    /// Where the server listens: the site's address.
    public var host: String { site.address }
    public let port: Int
    /// What ``start(extraArguments:)`` was given; ``restart()`` starts with them again.
    public let extraArguments: [String]
    private let process: Mutex<SpawnedProcess>

    /// `redis://HOST:PORT`, or in a run with ``restrictsUser``,
    /// `redis://shoal:PASSWORD@HOST:PORT`: Shoal connects as the restricted user.
    public var url: String {
        Self.restrictsUser
            ? "redis://\(Self.restrictedUser):\(Self.restrictedPassword)@\(host):\(port)" : "redis://\(host):\(port)"
    }

    /// `redis://HOST:PORT` as the default user, whatever the run: for a server that holds an
    /// application's own data (a fenced resource) rather than Shoal's.
    public var defaultUserURL: String {
        "redis://" + (password.map { ":\($0)@" } ?? "") + "\(host):\(port)"
    }

    /// A configuration for Shoal to connect with: as the restricted user in a run with
    /// ``restrictsUser``, else as the default user (with the server's `--requirepass`, if any).
    public var configuration: RedisConfiguration {
        Self.restrictsUser
            ? RedisConfiguration(host: host, port: port, username: Self.restrictedUser, password: Self.restrictedPassword)
            : RedisConfiguration(host: host, port: port, password: password)
    }

    /// Whether this run gives Shoal a Redis ACL user restricted to ``RedisACL/dataNodeRules``
    /// (and on sentinels, ``RedisACL/sentinelRules``): `SHOAL_TEST_REDIS_ACL=1`, as
    /// `scripts/test` sets for its second pass over the tests that use Redis. The tests' own
    /// commands (``command(_:timeout:)``) go on as the default user.
    public static var restrictsUser: Bool { ProcessInfo.processInfo.environment["SHOAL_TEST_REDIS_ACL"] == "1" }
    /// The restricted user's name and password.
    public static let restrictedUser = "shoal"
    public static let restrictedPassword = "acl-test-secret"

    private init(site: TestHost, port: Int, extraArguments: [String], process: SpawnedProcess) {
        self.site = site
        self.port = port
        self.extraArguments = extraArguments
        self.process = Mutex(process)
    }

    /// Starts `redis-server` on a free port and waits until it answers PING.
    ///
    /// - Throws: ``RedisServerError`` when `redis-server` is not installed or does not come up.
    public static func start(extraArguments: [String] = []) throws -> RedisServer {
        var lastError: Error = RedisServerError("redis-server did not start")
        for _ in 0..<5 {
            let port = try freePort()
            do {
                let process = try launch(on: .loopback, port: port, extraArguments: extraArguments)
                return RedisServer(site: .loopback, port: port, extraArguments: extraArguments, process: process)
            } catch {
                lastError = error  // most likely another process took the port: try another
            }
        }
        throw lastError
    }

    /// Starts `redis-server` with its data in `directory`, which holds a snapshot
    /// (`dump.rdb`) only when a test asks for one with `SAVE`: automatic snapshots and the
    /// append-only file stay off. ``restart()`` loads that snapshot, as a server restarted
    /// after `kill -9` with Debian's default `save` rules loads its last one.
    public static func start(directory: URL, extraArguments: [String] = []) throws -> RedisServer {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try start(extraArguments: ["--dir", directory.path, "--dbfilename", "dump.rdb"] + extraArguments)
    }

    /// Starts `redis-server` on a host of a ``NetworkLab``, listening on its address at
    /// `port`, with persistence off.
    public static func start(on site: TestHost, port: Int = 6379, extraArguments: [String] = []) throws -> RedisServer {
        let process = try launch(on: site, port: port, extraArguments: extraArguments)
        return RedisServer(site: site, port: port, extraArguments: extraArguments, process: process)
    }

    private static func launch(on site: TestHost, port: Int, extraArguments: [String]) throws -> SpawnedProcess {
        let executable = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        guard let executable else {
            throw RedisServerError("redis-server is not installed: run scripts/test, or apt-get install redis-server")
        }
        let arguments =
            [
                "--port", String(port), "--bind", site.address, "--save", "", "--appendonly", "no",
                "--daemonize", "no",
                // Off on a lab host, whose address only the lab's hosts reach: other hosts connect.
                "--protected-mode", site.namespace == nil ? "yes" : "no", "--logfile", "", "--loglevel", "warning",
                "--dir", FileManager.default.temporaryDirectory.path,
                // Servers share the directory: a replica's full sync must not write a file another reads.
                "--dbfilename", "shoal-test-\(UUID().uuidString).rdb", "--repl-diskless-load", "swapdb",
            ] + extraArguments
        let process = try site.spawn(executable, arguments)
        var waited = 0.0
        while waited < 10 {
            if !process.isRunning {
                throw RedisServerError("redis-server exited at once on \(site) port \(port)")
            }
            if (try? RedisTestConnection(host: site.address, port: port, timeout: 0.2).command(["PING"])) != nil {
                if restrictsUser { try addRestrictedUser(host: site.address, port: port, extraArguments: extraArguments) }
                return process
            }
            usleep(5_000)
            waited += 0.005
        }
        process.kill()
        throw RedisServerError("redis-server on \(site) port \(port) did not answer PING within 10 s")
    }

    /// Makes the restricted user on a server that just started (ACL users are not replicated:
    /// each node gets its own).
    private static func addRestrictedUser(host: String, port: Int, extraArguments: [String]) throws {
        let connection = try RedisTestConnection(host: host, port: port, timeout: 2)
        if let index = extraArguments.firstIndex(of: "--requirepass"), index + 1 < extraArguments.count {
            _ = try connection.command(["AUTH", extraArguments[index + 1]])
        }
        // With the application's own keys (`app:*`), which fenced writes guard.
        let reply = try connection.command(
            ["ACL", "SETUSER", restrictedUser, "reset", "on", ">\(restrictedPassword)"] + RedisACL.dataNodeRules
                + ["~app:*"])
        guard reply.string == "OK" else { throw RedisServerError("ACL SETUSER failed: \(reply)") }
    }

    /// Sends one command on a new connection and returns the reply (for set-up and audits).
    ///
    /// It sends `AUTH` first when the server was started with `--requirepass`.
    public func command(_ arguments: String..., timeout: TimeInterval = 2) throws -> RESPValue {
        let connection = try RedisTestConnection(host: host, port: port, timeout: timeout)
        if let password { _ = try connection.command(["AUTH", password]) }
        return try connection.command(arguments)
    }

    /// How many clients are connected, from CLIENT LIST, not counting the connection that
    /// asks: for tests that check a component closed every connection it opened.
    public func connectedClients() throws -> Int {
        let list = try command("CLIENT", "LIST").string ?? ""
        return list.split(separator: "\n").filter { !$0.contains("cmd=client|list") }.count
    }

    /// The `--requirepass` the server was started with, if any.
    public var password: String? {
        extraArguments.firstIndex(of: "--requirepass").flatMap {
            extraArguments.index(after: $0) < extraArguments.endIndex ? extraArguments[$0 + 1] : nil
        }
    }

    /// The keys in the database, for checking that a test left nothing behind.
    public func keys() throws -> [String] {
        guard case .array(let keys) = try command("KEYS", "*") else { return [] }
        return keys.compactMap(\.string).sorted()
    }

    /// Stops the server answering (SIGSTOP). Connections stay open; commands hang.
    public func pause() throws { try signal(SIGSTOP) }

    /// Lets a paused server go on (SIGCONT).
    public func resume() throws { try signal(SIGCONT) }

    /// Kills the server at once (SIGKILL), as a crash would.
    public func kill() {
        process.withLock { $0.kill() }
    }

    /// Kills the server if it runs and starts it again on the same port, with the same
    /// arguments: empty, unless those name a directory with a snapshot to load
    /// (``start(directory:extraArguments:)``).
    public func restart() throws {
        kill()
        let fresh = try Self.launch(on: site, port: port, extraArguments: extraArguments)
        process.withLock { $0 = fresh }
    }

    /// Stops the server (SIGTERM, then SIGKILL after 5 s).
    public func stop() {
        process.withLock { process in
            process.signal(SIGCONT)  // a paused server cannot act on SIGTERM
            process.signal(SIGTERM)
            if !process.waitForExit(seconds: 5) {
                process.signal(SIGKILL)
                process.waitForExit(seconds: 5)
            }
        }
    }

    deinit {
        stop()
    }

    private func signal(_ number: Int32) throws {
        try process.withLock { process in
            guard process.isRunning else { throw RedisServerError("redis-server on port \(port) is not running") }
            process.signal(number)
        }
    }

    /// A loopback port nothing listens on now (bound to port 0, then released), and never
    /// handed out before in this process. A client left over from an earlier test (a
    /// subscriber that keeps reconnecting to its stopped server) would otherwise find a new
    /// server on a reused port, and leave its subscriptions in that test's audit.
    public static func freePort() throws -> Int {
        for _ in 0..<100 {
            let port = try anyFreePort()
            if handedOut.withLock({ $0.insert(port).inserted }) { return port }
        }
        throw RedisServerError("cannot find a loopback port not used before in this process")
    }

    private static let handedOut = Mutex<Set<Int>>([])

    private static func anyFreePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw RedisServerError("cannot open a socket: errno \(errno)") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(socket, address, length) == 0 && getsockname(socket, address, &length) == 0
            }
        }
        guard bound else { throw RedisServerError("cannot find a free port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Why a test Redis could not be started or reached.
public struct RedisServerError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
