import ArgumentParser
import Dispatch
import Foundation
import ShoalClient
import ShoalCore
import ShoalEtcd
import ShoalLock
import ShoalRedis

/// `shoal lock`: a distributed `flock(1)`, on Redis, on etcd or through a `shoal serve`.
struct LockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock",
        abstract:
            "Run a command while holding a lock on Redis, etcd or a shoal serve, renewing it until the command exits.",
        usage: """
            shoal lock --redis redis://HOST:PORT[/DB] --name NAME [--ttl 10s] [--wait 30s | --no-wait] -- COMMAND [ARGS…]
            shoal lock --etcd http://HOST:PORT[,http://HOST:PORT…] --name NAME … -- COMMAND [ARGS…]
            shoal lock --server http://HOST:PORT [--token T] --name NAME … -- COMMAND [ARGS…]
            shoal lock --server https://HOST:PORT --server-ca CA.pem [--client-cert C --client-key K] …
            """,
        discussion: """
            The command gets SHOAL_LOCK_NAME and SHOAL_LOCK_FENCING_TOKEN (strictly \
            increasing per name) in its environment. The lease is renewed every third of \
            --ttl. If it is lost while the command runs (Redis refused a renewal, or --ttl \
            passed without a confirmed one, say because this process was paused), the \
            command gets SIGTERM, then SIGKILL after --grace, and shoal says why and exits \
            76; if it is lost before the command starts, the command is not run. SIGTERM, \
            SIGINT and SIGHUP sent to shoal are passed on to the command; while waiting for \
            the lock, they end the wait (leaving the line) and shoal exits 128 + the signal. \
            SHOAL_REDIS_URL stands in for --redis, which also takes the Sentinel form \
            (redis-sentinel://HOST[:PORT],…#PRIMARY): the lock follows failovers. With --etcd \
            (or SHOAL_ETCD_ENDPOINTS), the lock is held in an etcd cluster, which grants it \
            through its quorum; the fencing token is the lock key's create revision. With --server, the lock is taken through \
            the lock API of a shoal serve (its admin address), which holds it in Redis or \
            in its own memory; SHOAL_TOKEN stands in for --token.

            Exit codes: the command's own (128 + N if signal N ended it) after it ran with \
            the lock held; 75 the lock was not free within --wait, or at once with \
            --no-wait; 76 the lock was lost while the command ran; 69 Redis, etcd or the server \
            could not be reached, or fewer than --replicas replicas had the grant; 127 the \
            command could not be started; 2 bad usage (also when the server refuses the \
            token, the name or a time).
            """
    )

    @OptionGroup var redisOptions: RedisOptions

    @OptionGroup var etcdOptions: EtcdOptions

    @Option(
        help: "A shoal serve's admin address, http://HOST:PORT: take the lock through its lock API instead of Redis.")
    var server: String?

    @Option(help: "The bearer token of the --server (default: $SHOAL_TOKEN).")
    var token: String?

    @Option(name: .customLong("server-ca"), help: "For an https:// --server: the CA certificates to trust (PEM).")
    var serverCA: String?

    @Option(
        name: .customLong("client-cert"),
        help: "For a --server that asks for client certificates: this certificate chain (PEM), with --client-key.")
    var clientCertificate: String?

    @Option(name: .customLong("client-key"), help: "The private key of --client-cert (PEM).")
    var clientKey: String?

    @Option(help: "The lock's name; every process using the same name and server excludes the others.")
    var name: String

    @Option(help: "How long the lock outlives this process if it stops renewing (e.g. 500ms, 10s, 1m).")
    var ttl: String = "10s"

    @Option(help: "How long to wait in line for the lock. Default 30s.")
    var wait: String?

    @Flag(name: .customLong("no-wait"), help: "Exit 75 at once if the lock is held.")
    var noWait = false

    @Option(
        help:
            "With --redis: grant the lock only once this many replicas have it (Redis WAIT, up to 500ms); 0 grants at once."
    )
    var replicas = 0

    @Option(help: "After a lost lock, how long the command has between SIGTERM and SIGKILL.")
    var grace: String = "10s"

    @Argument(parsing: .postTerminator, help: "The command to run, after --.")
    var command: [String] = []

    func run() async throws {
        let settings = try validated()
        switch settings.backend {
        case .redis(let configuration):
            let locks = RedisLock(configuration: configuration, minimumReplicas: replicas)
            try await Self.closing({ await locks.close() }) {
                try await locks.running { try await run(with: locks, settings) }
            }
        case .etcd(let configuration):
            let client: EtcdClient
            do {
                client = try EtcdClient(configuration)
            } catch {
                throw UsageError("--etcd: \(error.message)")
            }
            try await client.running { try await run(with: EtcdLock(client: client), settings) }
        case .server(let url, let token, let trust):
            let locks: HTTPLockClient
            do {
                locks =
                    try trust.map { trust throws(AdminTrustError) in
                        try HTTPLockClient(server: url, token: token, trust: trust)
                    } ?? HTTPLockClient(server: url, token: token)
            } catch {
                throw UsageError("\(error) (--server-ca, --client-cert, --client-key)")
            }
            try await Self.closing({ await locks.shutdown() }) { try await run(with: locks, settings) }
        }
    }

    /// Runs `body`, then `close`, whether or not `body` threw.
    private static func closing(_ close: () async -> Void, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            await close()
            throw error
        }
        await close()
    }

    /// Takes the lock and runs the command while holding it; ends by throwing the exit
    /// request.
    private func run(with locks: any DistributedLock, _ settings: Settings) async throws {
        let route = SignalRoute()
        let trap = SignalTrap(route)
        defer { trap.stop() }
        let name = name
        let acquiring = Task { try await Self.acquire(name, with: locks, settings) }
        route.route { _ in acquiring.cancel() }
        let lease: LockLease
        do {
            lease = try await acquiring.value
        } catch is CancellationError {
            let signal = route.received ?? SIGTERM
            throw ExitRequest(code: 128 + signal, message: "interrupted while waiting for lock '\(name)'")
        }
        if let signal = route.received {  // came as the lock was taken
            _ = try? await locks.release(lease)
            throw ExitRequest(code: 128 + signal, message: "interrupted before running the command")
        }
        // A pause between taking the lock and starting the command (SIGSTOP, a stalled
        // machine) can outlast the lease; another holder may have the lock by now.
        if locks.clock.now() >= lease.confirmedUntil + (.zero - lease.ttl / 10) {
            _ = try? await locks.release(lease)
            let lost = LockLost(
                name: name, fencingToken: lease.fencingToken,
                reason: "its time-to-live passed before the command could start")
            throw ExitRequest(code: ExitStatus.lockLost, message: "\(lost); '\(command[0])' was not run")
        }
        let child: ChildCommand
        do {
            child = try ChildCommand.start(
                command,
                environment: ["SHOAL_LOCK_NAME": name, "SHOAL_LOCK_FENCING_TOKEN": String(lease.fencingToken)])
        } catch {
            _ = try? await locks.release(lease)
            throw ExitRequest(code: ExitStatus.cannotRun, message: error.description)
        }
        if let early = route.route(to: { child.signal($0) }) { child.signal(early) }
        let grace = settings.grace
        do {
            let code = try await locks.hold(lease) { _ in
                await withTaskCancellationHandler {
                    await child.exitCode()
                } onCancel: {
                    child.signal(SIGTERM)
                    Task {
                        try? await Task.sleep(for: grace)
                        child.signal(SIGKILL)
                    }
                }
            }
            throw ExitRequest(code: code, message: nil)
        } catch let lost as LockLost {
            throw ExitRequest(
                code: ExitStatus.lockLost,
                message: "\(lost); stopped '\(child.name)' (pid \(child.pid)) with SIGTERM")
        }
    }

    /// Takes the lock as the flags say, mapping failures to exit codes.
    private static func acquire(_ name: String, with locks: any DistributedLock, _ settings: Settings) async throws
        -> LockLease
    {
        do {
            guard let wait = settings.wait else {
                guard let taken = try await locks.tryAcquire(name, ttl: settings.ttl) else {
                    throw ExitRequest(code: ExitStatus.notAcquired, message: "lock '\(name)' is held (--no-wait)")
                }
                return taken
            }
            return try await locks.acquire(name, ttl: settings.ttl, wait: wait)
        } catch let error as LockError where error.code == .notAcquired {
            throw ExitRequest(code: ExitStatus.notAcquired, message: error.message)
        } catch let error as LockError where error.code == .backendFailure || error.code == .notReplicated {
            throw ExitRequest(code: ExitStatus.unavailable, message: error.message)
        } catch let error as LockError where error.code == .invalidArgument {
            throw ExitRequest(code: ExitStatus.usage, message: error.message)
        }
    }

    private enum Backend {
        case redis(RedisConfiguration)
        case etcd(EtcdConfiguration)
        case server(String, token: String?, trust: AdminTrust?)
    }

    private struct Settings {
        let backend: Backend
        let ttl: Duration
        let wait: Duration?
        let grace: Duration
    }

    private func validated() throws(UsageError) -> Settings {
        guard !name.isEmpty else { throw UsageError("--name must not be empty") }
        guard !command.isEmpty else { throw UsageError("give the command to run after --, e.g. -- ./backup.sh") }
        let backend: Backend
        if let server {
            guard redisOptions.redis == nil else { throw UsageError("--server and --redis cannot be used together") }
            guard etcdOptions.etcd == nil else { throw UsageError("--server and --etcd cannot be used together") }
            guard let url = URL(string: server), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw UsageError("--server must be a URL such as http://127.0.0.1:8081, not '\(server)'")
            }
            let token = token ?? ProcessInfo.processInfo.environment["SHOAL_TOKEN"]
            if token?.isEmpty == true { throw UsageError("--token must not be empty") }
            if replicas != 0 { throw UsageError("--replicas goes with --redis (a shoal serve decides for itself)") }
            if (serverCA != nil || clientCertificate != nil || clientKey != nil) && url.scheme != "https" {
                throw UsageError("--server-ca, --client-cert and --client-key go with an https:// --server")
            }
            if (clientCertificate == nil) != (clientKey == nil) {
                throw UsageError("--client-cert and --client-key go together")
            }
            let trust = serverCA.map {
                AdminTrust(caFile: $0, certificateFile: clientCertificate, keyFile: clientKey)
            }
            if trust == nil && clientCertificate != nil {
                throw UsageError("--client-cert needs --server-ca, the CA of the server's certificate")
            }
            backend = .server(server, token: token, trust: trust)
        } else {
            if token != nil { throw UsageError("--token goes with --server") }
            if serverCA != nil || clientCertificate != nil || clientKey != nil {
                throw UsageError("--server-ca, --client-cert and --client-key go with --server")
            }
            guard replicas >= 0 else { throw UsageError("--replicas must not be negative, not \(replicas)") }
            // A flag wins over the environment: --redis with SHOAL_ETCD_ENDPOINTS set is Redis.
            let etcd =
                etcdOptions.etcd != nil || redisOptions.redis == nil ? try etcdOptions.configurationIfGiven() : nil
            if let etcd {
                guard redisOptions.redis == nil else { throw UsageError("--etcd and --redis cannot be used together") }
                if replicas != 0 { throw UsageError("--replicas goes with --redis (etcd grants through its quorum)") }
                backend = .etcd(etcd)
            } else {
                backend = .redis(try redisOptions.configuration())
            }
        }
        let ttl = try DurationParsing.parse(ttl, flag: "--ttl")
        guard ttl >= .milliseconds(100) else { throw UsageError("--ttl must be at least 100ms, not \(self.ttl)") }
        if case .etcd = backend, ttl < .seconds(1) {
            throw UsageError(
                "--ttl must be at least 1s with --etcd (etcd's leases last whole seconds), not \(self.ttl)")
        }
        if noWait && wait != nil { throw UsageError("--wait and --no-wait cannot be used together") }
        let wait = noWait ? nil : try DurationParsing.parse(wait ?? "30s", flag: "--wait")
        let grace = try DurationParsing.parse(grace, flag: "--grace")
        return Settings(backend: backend, ttl: ttl, wait: wait, grace: grace)
    }
}
