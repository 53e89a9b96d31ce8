import ShoalCore
import ShoalLock
import ShoalRedis
import ShoalTesting
import Testing

/// Redlock over `servers`, with short time-outs so a stopped server costs little (unless
/// `connectTimeout` says otherwise).
func redlock(_ servers: [RedisServer], connectTimeout: Duration = .milliseconds(200)) -> Redlock {
    Redlock(
        servers: servers.map {
            var configuration = $0.configuration
            configuration.connectTimeout = connectTimeout
            return configuration
        }, retryDelay: .milliseconds(20))
}

@Suite("Redlock against three real redis-servers", .serialized, .timeLimit(.minutes(1)))
struct RedlockTests {
    @Test("a majority of three takes the lock, a second holder is refused, release clears every server")
    func majority() async throws {
        let servers = try (0..<3).map { _ in try RedisServer.start() }
        // Every server is up: connects may take long on a busy machine without failing the test.
        let first = redlock(servers, connectTimeout: .seconds(5))
        let second = redlock(servers, connectTimeout: .seconds(5))
        let started = SystemClock().now()
        // A TTL that outlasts the test on a loaded machine, so the release finds the lock.
        let lease = try #require(try await first.tryAcquire("report", ttl: .seconds(60)))
        let ended = SystemClock().now()
        #expect(lease.fencingToken == 0)  // Redlock has no orderable token
        // Valid for the TTL from the round's start, less the drift allowance (1 % + 2 ms).
        let validity = Duration.seconds(60) - .milliseconds(602)
        #expect(lease.confirmedUntil >= started + validity && lease.confirmedUntil <= ended + validity)
        for server in servers { #expect(try server.keys() == ["shoal:redlock:report"]) }
        #expect(try await second.tryAcquire("report", ttl: .seconds(5)) == nil)
        let timedOut = await caught(LockError.self) {
            _ = try await second.acquire("report", ttl: .seconds(5), wait: .milliseconds(100))
        }
        #expect(timedOut?.code == .notAcquired)
        #expect(try await first.release(lease) == .released)
        for server in servers { #expect(try server.keys().isEmpty) }
        #expect(try await second.release(lease) == .notHeld)
        await first.close()
        await second.close()
    }

    @Test("with one of three servers down the lock still works; with two down it reports the backend")
    func serversDown() async throws {
        let servers = try (0..<3).map { _ in try RedisServer.start() }
        servers[2].stop()
        let first = redlock(servers)
        let second = redlock(servers)
        let lease = try #require(try await first.tryAcquire("job", ttl: .seconds(5)))
        #expect(try await second.tryAcquire("job", ttl: .seconds(5)) == nil)
        let renewed = try await first.renew(lease)
        #expect(renewed.confirmedUntil > lease.confirmedUntil)
        #expect(try await first.release(renewed) == .released)
        let taken = try #require(try await second.tryAcquire("job", ttl: .seconds(5)))
        _ = try await second.release(taken)
        servers[1].stop()
        let error = await caught(LockError.self) { _ = try await first.tryAcquire("job", ttl: .seconds(5)) }
        #expect(error?.code == .backendFailure)
        #expect(error?.message.contains("2 of 3 Redis servers did not answer") == true)
        #expect(try servers[0].keys().isEmpty)  // the failed round released its one vote
        await first.close()
        await second.close()
    }

    @Test("losing the majority while held cancels the body and throws LockLost")
    func majorityLost() async throws {
        let servers = try (0..<3).map { _ in try RedisServer.start() }
        let locks = redlock(servers)
        let cancelled = Shared(false)
        let lost = await caught(LockLost.self) {
            try await locks.withLock("job", ttl: .milliseconds(600), wait: .seconds(1)) { _ in
                servers[0].stop()
                servers[1].stop()
                do {
                    try await Task.sleep(for: .seconds(30))
                } catch {
                    cancelled.update { $0 = true }
                }
            }
        }
        #expect(lost?.name == "job")
        #expect(cancelled.value)
        await locks.close()
    }
}
