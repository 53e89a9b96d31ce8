import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A real etcd cluster for integration tests: one member or several, each an `etcd` process
/// with its data in a fresh folder under `/dev/shm` (memory: Raft's fsyncs cost nothing, and
/// nothing outlives the test), stopped and removed when the value is released.
///
/// Members run on loopback, each on its own pair of free ports, or each on a host of a
/// ``NetworkLab`` (client port 2379, peer port 2380), where a test can partition them.
/// Fault tests kill, restart (with its data, as a crashed member comes back), pause and
/// resume single members.
///
/// ```swift
/// let etcd = try EtcdCluster.start(members: 3)
/// let leader = try etcd.leader()
/// etcd.kill(leader)
/// try etcd.restart(leader)
/// ```
public final class EtcdCluster: Sendable {
    /// One member: where it runs and listens.
    public struct Member: Sendable {
        /// Its name in the cluster (`m0`, `m1`, …).
        public let name: String
        public let site: TestHost
        public let clientPort: Int
        public let peerPort: Int
        /// `http`, or `https` when the cluster serves clients over TLS.
        public let scheme: String
        /// `http://ADDRESS:CLIENT_PORT` (or `https://`).
        public var endpoint: String { "\(scheme)://\(site.address):\(clientPort)" }
        var peerURL: String { "http://\(site.address):\(peerPort)" }
    }

    /// How clients reach a cluster that serves them over TLS: the members' certificates (for
    /// `127.0.0.1` and `localhost`, signed by `certificates`' CA) and, when the members demand
    /// one, a client certificate that CA signed.
    public struct Security: Sendable {
        public let certificates: TestCertificates
        /// Members refuse clients without a certificate the CA signed (`--client-cert-auth`).
        public let requireClientCertificates: Bool
        /// A client certificate and its key, signed by the CA (`etcdctl` uses them too).
        public var clientCertificate: String { certificates.directory.appendingPathComponent("client.pem").path }
        public var clientKey: String { certificates.directory.appendingPathComponent("client.key").path }

        /// Makes a fresh CA, the members' certificate and a client certificate.
        public static func make(requireClientCertificates: Bool) throws -> Security {
            let certificates = try TestCertificates.make()
            try certificates.issueClient("client", into: certificates.directory)
            return Security(certificates: certificates, requireClientCertificates: requireClientCertificates)
        }
    }

    public let members: [Member]
    /// TLS for clients, if the cluster was started with it.
    public let security: Security?
    /// More `etcd` flags each member is started with.
    public let extraArguments: [String]
    /// The user `etcdctl` logs in as once authentication is on.
    private let rootCredentials = Mutex<String?>(nil)
    /// Each member's client URL, in member order.
    public var endpoints: [String] { members.map(\.endpoint) }
    /// The members' folders (data and log) live under this one.
    public let directory: URL
    private let token: String
    private let processes: Mutex<[SpawnedProcess?]>

    private init(
        members: [Member], security: Security?, extraArguments: [String], directory: URL, token: String,
        processes: [SpawnedProcess?]
    ) {
        self.members = members
        self.security = security
        self.extraArguments = extraArguments
        self.directory = directory
        self.token = token
        self.processes = Mutex(processes)
    }

    /// Starts `count` members on loopback and waits until the cluster has a leader and
    /// every member answers.
    ///
    /// - Throws: ``EtcdClusterError`` when `etcd` is not installed or the cluster does not
    ///   come up within 20 s.
    /// With `security`, members serve clients over TLS only; `extraArguments` are more flags
    /// for every member.
    public static func start(
        members count: Int = 1, security: Security? = nil, extraArguments: [String] = []
    ) throws -> EtcdCluster {
        let members = try (0..<count).map { index in
            Member(
                name: "m\(index)", site: .loopback, clientPort: try RedisServer.freePort(),
                peerPort: try RedisServer.freePort(), scheme: security == nil ? "http" : "https")
        }
        return try start(members, security: security, extraArguments: extraArguments)
    }

    /// Starts one member on each of `sites` (hosts of a ``NetworkLab``), listening on the
    /// host's address at 2379 (clients) and 2380 (peers).
    public static func start(on sites: [TestHost]) throws -> EtcdCluster {
        try start(
            sites.enumerated().map { index, site in
                Member(name: "m\(index)", site: site, clientPort: 2379, peerPort: 2380, scheme: "http")
            }, security: nil, extraArguments: [])
    }

    private static func start(
        _ members: [Member], security: Security?, extraArguments: [String]
    ) throws -> EtcdCluster {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let directory = URL(fileURLWithPath: base).appendingPathComponent("shoal-etcd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let cluster = EtcdCluster(
            members: members, security: security, extraArguments: extraArguments, directory: directory,
            token: UUID().uuidString,
            processes: Array(repeating: nil, count: members.count))
        for index in members.indices { try cluster.launch(index, state: "new") }
        try cluster.waitUntilHealthy()
        return cluster
    }

    /// The `etcd` executable, or an error that says how to get it.
    static func executable(_ name: String) throws -> String {
        guard
            let path = ["/usr/bin/\(name)", "/usr/local/bin/\(name)"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else {
            throw EtcdClusterError(
                "\(name) is not installed: run scripts/test, or apt-get install etcd-server etcd-client")
        }
        return path
    }

    private func launch(_ index: Int, state: String) throws {
        let member = members[index]
        let folder = directory.appendingPathComponent(member.name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let initialCluster = members.map { "\($0.name)=\($0.peerURL)" }.joined(separator: ",")
        var arguments = [
            "--name", member.name, "--data-dir", folder.appendingPathComponent("data").path,
            "--listen-client-urls", member.endpoint, "--advertise-client-urls", member.endpoint,
            "--listen-peer-urls", member.peerURL, "--initial-advertise-peer-urls", member.peerURL,
            "--initial-cluster", initialCluster, "--initial-cluster-state", state,
            "--initial-cluster-token", token,
            // Elections as etcd's defaults make them (100 ms heartbeats, 1 s election timeout).
            "--heartbeat-interval", "100", "--election-timeout", "1000",
            "--logger", "zap", "--log-outputs", "stderr", "--log-level", "warn",
        ]
        arguments += extraArguments
        if let security {
            arguments += [
                "--cert-file", security.certificates.serverCertificate, "--key-file", security.certificates.serverKey,
            ]
            if security.requireClientCertificates {
                arguments += ["--client-cert-auth", "--trusted-ca-file", security.certificates.caCertificate]
            }
        }
        let process = try member.site.spawn(
            Self.executable("etcd"), arguments,
            standardError: folder.appendingPathComponent("etcd.log").path,
            environment: ["ETCD_UNSUPPORTED_ARCH": ""])
        processes.withLock { $0[index] = process }
    }

    /// Waits until every running member reports itself healthy (it has a leader and can
    /// commit), for up to `seconds`.
    public func waitUntilHealthy(seconds: Double = 20) throws {
        let running = members.indices.filter(isRunning)
        let deadline = Date().addingTimeInterval(seconds)
        var last = ""
        while Date() < deadline {
            for index in running where !isRunning(index) {
                throw EtcdClusterError("etcd member \(members[index].name) exited: \(log(of: index))")
            }
            let result = try? etcdctl(["endpoint", "health"], endpoints: running.map { members[$0].endpoint })
            if let result, result.status == 0 { return }
            last = result.map { $0.stderr + $0.output } ?? last
            usleep(100_000)
        }
        throw EtcdClusterError("the etcd cluster did not become healthy within \(seconds) s: \(last)")
    }

    /// Runs `etcdctl` (API v3) against `endpoints` (default: every member) and returns what
    /// it printed and its exit status.
    public func etcdctl(_ arguments: [String], endpoints: [String]? = nil) throws -> ChildProcess.Result {
        var options = [
            "--endpoints", (endpoints ?? self.endpoints).joined(separator: ","), "--dial-timeout", "2s",
            "--command-timeout", "5s",
        ]
        if let security {
            options += ["--cacert", security.certificates.caCertificate]
            if security.requireClientCertificates {
                options += ["--cert", security.clientCertificate, "--key", security.clientKey]
            }
        }
        if let root = rootCredentials.withLock({ $0 }) { options += ["--user", root] }
        return try ChildProcess.run(
            URL(fileURLWithPath: Self.executable("etcdctl")), options + arguments, environment: ["ETCDCTL_API": "3"])
    }

    /// Turns authentication on, with user `root` (password `rootPassword`), which `etcdctl`
    /// then logs in as, and, for each of `users`, a user of that name and password whose role
    /// may read and write only keys under `prefix`.
    public func enableAuthentication(
        rootPassword: String, users: [(name: String, password: String, prefix: String)] = []
    ) throws {
        var steps: [[String]] = [["user", "add", "root:\(rootPassword)"]]
        for user in users {
            steps += [
                ["role", "add", user.name],
                ["role", "grant-permission", user.name, "--prefix=true", "readwrite", user.prefix],
                ["user", "add", "\(user.name):\(user.password)"],
                ["user", "grant-role", user.name, user.name],
            ]
        }
        steps.append(["auth", "enable"])
        for step in steps {
            let result = try etcdctl(step)
            guard result.status == 0 else {
                throw EtcdClusterError("etcdctl \(step.prefix(2).joined(separator: " ")) failed: \(result.stderr)")
            }
        }
        rootCredentials.withLock { $0 = "root:\(rootPassword)" }
    }

    /// The index of the member that leads now, as the members report it.
    public func leader() throws -> Int {
        let reachable = members.indices.filter(isRunning)
        let result = try etcdctl(
            ["endpoint", "status", "-w", "json"], endpoints: reachable.map { members[$0].endpoint })
        guard let statuses = try? JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]] else {
            throw EtcdClusterError("etcdctl endpoint status answered: \(result.output) \(result.stderr)")
        }
        for status in statuses {
            guard let endpoint = status["Endpoint"] as? String, let body = status["Status"] as? [String: Any],
                let header = body["header"] as? [String: Any],
                let memberID = (header["member_id"] as? NSNumber)?.uint64Value,
                let leaderID = (body["leader"] as? NSNumber)?.uint64Value, memberID == leaderID,
                let index = members.firstIndex(where: { $0.endpoint == endpoint })
            else { continue }
            return index
        }
        throw EtcdClusterError("no member reports itself the leader: \(result.output)")
    }

    /// Whether member `index`'s process runs (it may be paused).
    public func isRunning(_ index: Int) -> Bool {
        processes.withLock { $0[index]?.isRunning ?? false }
    }

    /// Kills member `index` at once (SIGKILL), as a crash would. Its data stays.
    public func kill(_ index: Int) {
        processes.withLock { $0[index]?.kill() }
    }

    /// Starts member `index` again, with the data it had, as a crashed member comes back.
    public func restart(_ index: Int) throws {
        kill(index)
        try launch(index, state: "existing")
    }

    /// Stops member `index` answering (SIGSTOP); its connections stay open.
    public func pause(_ index: Int) {
        processes.withLock { $0[index]?.signal(SIGSTOP) }
    }

    /// Lets a paused member go on (SIGCONT).
    public func resume(_ index: Int) {
        processes.withLock { $0[index]?.signal(SIGCONT) }
    }

    /// What member `index` logged (warnings and errors), for a failed test's message.
    public func log(of index: Int) -> String {
        let path = directory.appendingPathComponent(members[index].name).appendingPathComponent("etcd.log").path
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    /// Stops every member (SIGTERM, then SIGKILL after 5 s) and removes their data.
    public func stop() {
        processes.withLock { processes in
            for process in processes.compactMap({ $0 }) {
                process.signal(SIGCONT)
                process.signal(SIGTERM)
            }
            for process in processes.compactMap({ $0 }) where !process.waitForExit(seconds: 5) {
                process.signal(SIGKILL)
                process.waitForExit(seconds: 5)
            }
        }
        try? FileManager.default.removeItem(at: directory)
    }

    deinit {
        stop()
    }
}

/// Why a test etcd cluster could not be started or asked.
public struct EtcdClusterError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
