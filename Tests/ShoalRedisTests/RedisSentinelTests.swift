import NIOCore
import ShoalRESP
import ShoalRedis
import ShoalTesting
import Synchronization
import Testing

/// A configuration for `cluster` with short time-outs, so a test sees failures quickly.
private func sentinelConfiguration(_ cluster: SentinelCluster, password: String? = nil) throws -> RedisConfiguration {
    var configuration = try RedisConfiguration(url: cluster.url)
    configuration.connectTimeout = .seconds(1)
    return configuration
}

private let quickBackoff = RedisBackoff(initial: .milliseconds(20), maximum: .milliseconds(200))

/// Sends `command` until it succeeds; how long that took from `since`.
private func retried(
    _ command: RESPCommand, on pool: RedisConnectionPool, since: ContinuousClock.Instant, within seconds: Int = 30
) async throws -> Duration {
    var lastError: (any Error)?
    while ContinuousClock.now - since < .seconds(seconds) {
        do {
            _ = try await pool.send(command)
            return ContinuousClock.now - since
        } catch {
            lastError = error
            try await Task.sleep(for: .milliseconds(20))
        }
    }
    throw RedisServerError("\(command) did not succeed within \(seconds) s: \(String(describing: lastError))")
}

/// The address the pool's connections go to now.
private func poolAddress(_ pool: RedisConnectionPool) async throws -> String {
    try await pool.withConnection { $0.address }
}

/// What a listener heard.
private final class HeardEvents: Sendable {
    let events = Mutex<[RedisSubscriber.Event]>([])
}

/// A running pool and a subscriber listening to `deploys`, both through the sentinels.
private final class SentinelFollowers {
    let pool: RedisConnectionPool
    let subscriber: RedisSubscriber
    private let heard = HeardEvents()
    private let running: Task<Void, any Error>
    private let subscribing: Task<Void, any Error>
    private var listener: RedisSubscriber.Listener?

    var events: [RedisSubscriber.Event] { heard.events.withLock { $0 } }

    init(_ configuration: RedisConfiguration) async throws {
        let pool = RedisConnectionPool(configuration: configuration, pool: RedisPoolConfiguration(backoff: quickBackoff))
        self.pool = pool
        running = Task { try await pool.run() }
        let subscriber = RedisSubscriber(configuration: configuration, backoff: quickBackoff)
        self.subscriber = subscriber
        subscribing = Task { try await subscriber.run() }
        let heard = heard
        listener = try await subscriber.listen(to: "deploys") { event in heard.events.withLock { $0.append(event) } }
    }

    /// Whether, after a resubscription, `payload` published on `primary` reaches the listener.
    func hears(_ payload: String, publishedOn primary: RedisServer) async throws -> Bool {
        guard await eventually(within: 10, { events.contains(.resubscribed) }) else { return false }
        _ = try primary.command("PUBLISH", "deploys", payload)
        let message = RedisSubscriber.Event.message(RedisMessage(channel: "deploys", payload: ByteBuffer(string: payload)))
        return await eventually { events.last == message }
    }

    func stop() async {
        listener?.cancel()
        subscribing.cancel()
        _ = await subscribing.result
        running.cancel()
        _ = await running.result
    }
}

@Suite("Redis Sentinel: real sentinels, real failovers", .serialized, .timeLimit(.minutes(2)))
struct RedisSentinelTests {
    @Test("kill -9 of the primary: the pool reconnects to the promoted replica, and the subscriber subscribes there")
    func followsAKilledPrimary() async throws {
        let cluster = try SentinelCluster.start()
        defer { cluster.stop() }
        let followers = try await SentinelFollowers(try sentinelConfiguration(cluster))
        let pool = followers.pool

        let old = try cluster.primary()
        #expect(old === cluster.servers[0])
        _ = try await pool.send(RESPCommand("SET", "greeting", "before"))
        #expect(try await poolAddress(pool) == "\(old.host):\(old.port)")

        old.kill()
        let killed = ContinuousClock.now
        let new = try await cluster.failover(from: old)
        let writable = try await retried(RESPCommand("SET", "greeting", "after"), on: pool, since: killed)
        #expect(try new.command("GET", "greeting").string == "after")
        #expect(try await poolAddress(pool) == "\(new.host):\(new.port)")
        print("kill -9 of the primary: the pool wrote to the new primary \(writable) after the kill")

        #expect(try await followers.hears("v2", publishedOn: new))
        #expect(followers.events.first == .resubscribed)
        await followers.stop()
    }

    @Test("a paused primary: +switch-master drains connections hung on it, and once it is back as a replica nothing goes there")
    func followsAPausedPrimary() async throws {
        let cluster = try SentinelCluster.start()
        defer { cluster.stop() }
        var configuration = try sentinelConfiguration(cluster)
        configuration.commandTimeout = .seconds(20)  // longer than the failover: only a drain frees a hung command
        let followers = try await SentinelFollowers(configuration)
        let pool = followers.pool
        let old = try cluster.primary()
        _ = try await pool.send(RESPCommand("SET", "greeting", "before"))

        try old.pause()
        let paused = ContinuousClock.now
        // A command sent now hangs on the paused primary until the failover drains the pool.
        let hung = Task { try await pool.send(RESPCommand("INCR", "hung")) }
        let new = try await cluster.failover(from: old)
        let promoted = ContinuousClock.now
        let hungError = await caught(RedisError.self) { _ = try await hung.value }
        #expect(hungError?.code == .connectionClosed, "\(String(describing: hungError))")
        #expect(ContinuousClock.now - promoted < .seconds(5), "a drain, not the 20 s command time-out, ended it")
        let writable = try await retried(RESPCommand("SET", "greeting", "after"), on: pool, since: paused)
        #expect(try await poolAddress(pool) == "\(new.host):\(new.port)")
        print("a paused primary: the pool wrote to the new primary \(writable) after the pause")

        try old.resume()
        #expect(await eventually(within: 20) { !SentinelCluster.isPrimary(old) })
        for index in 0..<20 { _ = try await pool.send(RESPCommand("SET", "after-resume", String(index))) }
        #expect(try new.command("GET", "after-resume").string == "19")
        #expect(try await followers.hears("v3", publishedOn: new))
        await followers.stop()
    }

    @Test("sentinels and data nodes with a password; a dead first sentinel is passed over; a wrong password says so")
    func authenticationAndADeadSentinel() async throws {
        let cluster = try SentinelCluster.start(password: "s3cret")
        defer { cluster.stop() }
        cluster.sentinels[0].kill()
        let pool = RedisConnectionPool(configuration: try sentinelConfiguration(cluster))
        _ = try await pool.send(RESPCommand("SET", "k", "v"))
        #expect(try cluster.servers[0].command("GET", "k").string == "v")
        await pool.close()

        var wrong = try sentinelConfiguration(cluster)
        wrong.sentinel?.password = "wrong"
        let refused = await caught(RedisError.self) { _ = try await RedisConnection.connect(wrong) }
        #expect(refused?.code == .connectionRefused)
        #expect(refused?.message.contains("no sentinel named the primary 'shoal'") == true)
        #expect(refused?.message.contains("WRONGPASS") == true, "\(String(describing: refused))")
    }
}
