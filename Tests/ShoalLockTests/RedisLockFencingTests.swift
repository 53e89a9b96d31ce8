import Foundation
import ShoalLock
import ShoalRESP
import ShoalRedis
import ShoalTesting
import Testing

/// Fencing tokens must rise even when Redis forgets the counter, and a grant may wait for
/// replicas. Each test makes Redis go back for real: a restart from an older snapshot, a
/// restart with no data, a counter that a replica promoted too early would have.
@Suite("RedisLock fencing tokens never go back", .serialized, .timeLimit(.minutes(1)))
struct RedisLockFencingTests {
    @Test("kill -9, then a restart from a snapshot taken before the last grants: the next token is higher")
    func restartFromOlderSnapshot() async throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "shoal-fencing-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let redis = try RedisServer.start(directory: directory)
        let locks = redisLocks(redis)
        var issued: [UInt64] = []
        for _ in 0..<5 {
            let lease = try #require(try await locks.tryAcquire("snapshotted", ttl: .seconds(5)))
            issued.append(lease.fencingToken)
            _ = try await locks.release(lease)
        }
        _ = try redis.command("SAVE")  // the snapshot has the counter as it is now
        for _ in 0..<5 {
            let lease = try #require(try await locks.tryAcquire("snapshotted", ttl: .seconds(5)))
            issued.append(lease.fencingToken)
            _ = try await locks.release(lease)
        }
        try redis.restart()  // SIGKILL, then start again on the same directory
        let stale = try #require(try redis.command("GET", "shoal:lock:snapshotted:fence").string.flatMap(UInt64.init))
        #expect(stale == issued[4], "the restarted server holds the snapshot's counter")
        let lease = try await locks.acquire("snapshotted", ttl: .seconds(5), wait: .seconds(10))
        #expect(lease.fencingToken > issued.max()!, "tokens issued: \(issued), after the restart: \(lease.fencingToken)")
        #expect(zip(issued, issued.dropFirst()).allSatisfy { $0 < $1 })
        _ = try await locks.release(lease)
        await locks.close()
    }

    @Test("a restart with no data: the next token is higher than every one before")
    func restartEmpty() async throws {
        let redis = try RedisServer.start()
        let locks = redisLocks(redis)
        let before = try #require(try await locks.tryAcquire("emptied", ttl: .seconds(5)))
        try redis.restart()
        #expect(try redis.keys().isEmpty)
        let after = try await locks.acquire("emptied", ttl: .seconds(5), wait: .seconds(10))
        #expect(after.fencingToken > before.fencingToken)
        _ = try await locks.release(after)
        await locks.close()
    }

    @Test("a counter set back, as on a replica promoted before it had the last grants, on both granting paths")
    func counterSetBack() async throws {
        let redis = try RedisServer.start()
        let locks = redisLocks(redis)
        let first = try #require(try await locks.tryAcquire("promoted", ttl: .seconds(5)))
        _ = try redis.command("SET", "shoal:lock:promoted:fence", String(first.fencingToken - 1000))
        // A waiter in line: the release hands the lock over, with the token the release
        // script makes.
        let waiter = Task { try await locks.acquire("promoted", ttl: .seconds(5), wait: .seconds(10)) }
        #expect(try await eventually { try redis.command("LLEN", "shoal:lock:promoted:queue") == .integer(1) })
        #expect(try await locks.release(first) == .released)
        let handed = try await waiter.value
        #expect(handed.fencingToken > first.fencingToken)
        _ = try redis.command("SET", "shoal:lock:promoted:fence", "1")
        #expect(try await locks.release(handed) == .released)
        let direct = try #require(try await locks.tryAcquire("promoted", ttl: .seconds(5)))
        #expect(direct.fencingToken > handed.fencingToken)
        _ = try await locks.release(direct)
        await locks.close()
    }

    @Test("minimumReplicas: granted once the replica has it; more than there are throws notReplicated and frees the lock")
    func waitForReplicas() async throws {
        let primary = try RedisServer.start(extraArguments: ["--repl-diskless-sync-delay", "0"])
        let replica = try RedisServer.start(extraArguments: ["--replicaof", primary.host, String(primary.port)])
        defer { replica.stop() }
        #expect(try await eventually(within: 10) { try SentinelCluster.replicasInSync(primary) == 1 })
        var configuration = primary.configuration
        configuration.connectTimeout = .seconds(1)
        let one = RedisLock(configuration: configuration, minimumReplicas: 1, replicaTimeout: .seconds(5))
        let lease = try #require(try await one.tryAcquire("replicated", ttl: .seconds(5)))
        #expect(try replica.command("GET", "shoal:lock:replicated").string == lease.token)
        _ = try await one.release(lease)

        let two = RedisLock(configuration: configuration, minimumReplicas: 2, replicaTimeout: .milliseconds(200))
        let refused = await caught(LockError.self) { _ = try await two.acquire("replicated", ttl: .seconds(5), wait: .seconds(1)) }
        #expect(refused?.code == .notReplicated)
        #expect(refused?.message.contains("only 1 of 2 replicas") == true)
        #expect(try primary.command("EXISTS", "shoal:lock:replicated") == .integer(0))
        await one.close()
        await two.close()
    }
}
