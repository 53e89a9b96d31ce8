import NIOCore
import ShoalRESP
import ShoalRedis
import ShoalTesting
import Synchronization
import Testing

/// The channels the server has subscribers for, from PUBSUB CHANNELS.
func serverChannels(_ redis: RedisServer) throws -> [String] {
    guard case .array(let channels) = try redis.command("PUBSUB", "CHANNELS") else { return [] }
    return channels.compactMap(\.string).sorted()
}

@Suite("RedisSubscriber against a real redis-server", .serialized, .timeLimit(.minutes(1)))
struct RedisSubscriberTests {
    @Test("messages arrive in order once subscribed; dropping the sequence unsubscribes after the linger")
    func messages() async throws {
        let redis = try RedisServer.start()
        let subscriber = RedisSubscriber(configuration: RedisConfiguration(host: redis.host, port: redis.port))
        let publisher = try await connect(redis)
        func receive(_ count: Int) async throws -> [String] {
            let stream = try await subscriber.messages(from: "news")
            #expect(try serverChannels(redis) == ["news"])
            for index in 0..<count {
                _ = try await publisher.send(RESPCommand("PUBLISH", "news", "item \(index)"))
            }
            var received: [String] = []
            for await message in stream {
                received.append(String(buffer: message.payload))
                if received.count == count { break }
            }
            return received
        }
        #expect(try await receive(100) == (0..<100).map { "item \($0)" })
        #expect(subscriber.isSubscribed(to: "news"))  // lingering for a listener that comes back
        #expect(try await receive(3) == ["item 0", "item 1", "item 2"])
        let dropped = ContinuousClock.now
        #expect(try await eventually { try serverChannels(redis).isEmpty })
        #expect(ContinuousClock.now - dropped >= .milliseconds(900))  // after the 1 s linger
        #expect(subscriber.subscribedChannels.isEmpty)
        await subscriber.close()
        await publisher.close()
    }

    @Test("after the server restarts, channels are subscribed again and listeners are told")
    func resubscribes() async throws {
        let redis = try RedisServer.start()
        var configuration = RedisConfiguration(host: redis.host, port: redis.port)
        configuration.connectTimeout = .seconds(1)
        let subscriber = RedisSubscriber(
            configuration: configuration, backoff: RedisBackoff(initial: .milliseconds(20), maximum: .milliseconds(100))
        )
        let running = Task { try await subscriber.run() }
        let events = Mutex<[RedisSubscriber.Event]>([])
        let listener = try await subscriber.listen(to: "jobs") { event in events.withLock { $0.append(event) } }
        try redis.restart()
        #expect(await eventually { events.withLock { $0 } == [.resubscribed] })
        #expect(try serverChannels(redis) == ["jobs"])
        let publisher = try await connect(redis)
        _ = try await publisher.send(RESPCommand("PUBLISH", "jobs", "after"))
        let after = RedisSubscriber.Event.message(RedisMessage(channel: "jobs", payload: ByteBuffer(string: "after")))
        #expect(await eventually { events.withLock { $0 } == [.resubscribed, after] })
        listener.cancel()
        #expect(try await eventually { try serverChannels(redis).isEmpty })
        running.cancel()
        try await running.value
        await publisher.close()
    }

    @Test("run() ends on cancellation, closes its connection, and nothing reconnects afterwards")
    func runEnds() async throws {
        let redis = try RedisServer.start()
        var configuration = RedisConfiguration(host: redis.host, port: redis.port)
        configuration.connectTimeout = .seconds(1)
        let subscriber = RedisSubscriber(
            configuration: configuration, backoff: RedisBackoff(initial: .milliseconds(20), maximum: .milliseconds(50)))
        let ended = Mutex(false)
        let running = Task {
            try await subscriber.run()
            ended.withLock { $0 = true }
        }
        let stream = try await subscriber.messages(from: "jobs")
        let finished = Mutex(false)
        let draining = Task {
            for await _ in stream {}
            finished.withLock { $0 = true }
        }
        #expect(try clientCount(redis) == 2)  // the subscriber and the audit connection
        // The connection drops and Redis stays away: run() keeps trying until cancelled.
        redis.stop()
        try await Task.sleep(for: .milliseconds(300))
        running.cancel()
        #expect(await eventually(within: 5) { ended.withLock { $0 } }, "run() went on after cancellation")
        #expect(await eventually(within: 2) { finished.withLock { $0 } })  // finished, not left open
        draining.cancel()
        // Redis comes back on the same port: nothing of the subscriber connects to it.
        try redis.restart()
        try await Task.sleep(for: .seconds(1))
        #expect(try clientCount(redis) == 1)  // the audit connection alone
    }

    @Test("without run(), a lost connection comes back, with every channel, when a new subscription needs it")
    func reconnectsOnDemand() async throws {
        let redis = try RedisServer.start()
        let subscriber = RedisSubscriber(configuration: RedisConfiguration(host: redis.host, port: redis.port))
        let first = try await subscriber.messages(from: "a")
        try redis.restart()
        try await Task.sleep(for: .milliseconds(200))
        #expect(try serverChannels(redis).isEmpty)  // nothing ran to subscribe again
        let second = try await subscriber.messages(from: "b")
        #expect(try serverChannels(redis) == ["a", "b"])
        _ = (first, second)
        await subscriber.close()
    }

    @Test("a server that never confirms SUBSCRIBE: the wait ends with a time-out after commandTimeout")
    func silentServer() async throws {
        let redis = try RedisServer.start()
        var configuration = RedisConfiguration(host: redis.host, port: redis.port)
        configuration.commandTimeout = .milliseconds(300)
        let subscriber = RedisSubscriber(configuration: configuration)
        _ = try await subscriber.messages(from: "a")  // connected
        try redis.pause()
        let started = ContinuousClock.now
        let error = await caught(RedisError.self) { _ = try await subscriber.messages(from: "b") }
        #expect(error?.code == .timeout)
        #expect(ContinuousClock.now - started < .seconds(5))
        try redis.resume()
        await subscriber.close()
    }

    @Test("subscribing while the server is away fails with a typed error and leaves no listener")
    func refused() async throws {
        let redis = try RedisServer.start()
        redis.stop()
        let subscriber = RedisSubscriber(configuration: RedisConfiguration(host: redis.host, port: redis.port))
        let error = await caught(RedisError.self) { _ = try await subscriber.messages(from: "news") }
        #expect(error?.code == .connectionRefused)
        #expect(subscriber.subscribedChannels.isEmpty)
        await subscriber.close()
    }
}
