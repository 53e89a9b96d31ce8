import ShoalCore
import ShoalHashing
import ShoalRESP
import Synchronization

/// Keys spread over several Redis servers by consistent hashing, with failing shards
/// ejected for a while.
///
/// ```swift
/// let client = try RedisShardedClient(
///     shards: [try Endpoint(host: "10.0.0.1", port: 6379), try Endpoint(host: "10.0.0.2", port: 6379)])
/// _ = try await client.send(RESPCommand("SET", "user:42", "…"), key: "user:42")
/// ```
///
/// Placement is ``ShoalHashing/HashRing/Algorithm/ketama`` by default: libmemcached's
/// weighted ketama over `host:port`, so keys land on the same shards as in twemproxy and
/// libmemcached-style clusters with the same servers and weights.
///
/// Like twemproxy's `auto_eject_hosts`, a shard whose connection fails
/// ``Ejection/failureLimit`` times in a row is taken out of the ring for
/// ``Ejection/retryAfter``; its keys go to the next shards on the ring meanwhile (the others
/// keep theirs), and it is put back when the time is up. The failing command itself still
/// fails: the caller decides whether to retry. Error replies from a server do not count as
/// failures. The last shard in the ring is never ejected.
public final class RedisShardedClient: Sendable {
    /// When to take a failing shard out of the ring.
    public struct Ejection: Sendable, Hashable {
        /// Connection failures in a row that eject a shard. Default 2.
        public var failureLimit: Int
        /// How long an ejected shard stays out. Default 30 s.
        public var retryAfter: Duration

        public init(failureLimit: Int = 2, retryAfter: Duration = .seconds(30)) {
            self.failureLimit = failureLimit
            self.retryAfter = retryAfter
        }
    }

    /// Every shard, in the order given.
    public let shards: [Endpoint]
    public let algorithm: HashRing.Algorithm
    /// `nil` when shards are never ejected.
    public let ejection: Ejection?
    private let pools: [RedisConnectionPool]
    private let clock: any MonotonicClock
    private let state: Mutex<State>

    private struct State {
        var failures: [Int]
        var ejectedUntil: [MonotonicInstant?]
        /// The ring of the shards not ejected, and their indices in ``shards``.
        var ring: HashRing
        var live: [Int]
    }

    /// - Parameters:
    ///   - shards: the servers, with weights for ketama.
    ///   - configuration: what every connection uses besides host and port (password,
    ///     database, time-outs).
    /// - Throws: ``ShoalHashing/HashRingError`` for an empty or duplicated shard list.
    public init(
        shards: [Endpoint], configuration: RedisConfiguration = RedisConfiguration(),
        algorithm: HashRing.Algorithm = .ketama, ejection: Ejection? = Ejection(),
        pool: RedisPoolConfiguration = RedisPoolConfiguration(), clock: any MonotonicClock = SystemClock()
    ) throws(HashRingError) {
        let ring = try HashRing(nodes: shards, algorithm: algorithm)
        self.shards = shards
        self.algorithm = algorithm
        self.ejection = ejection
        self.clock = clock
        self.pools = shards.map { shard in
            var configuration = configuration
            configuration.host = shard.host
            configuration.port = shard.port
            return RedisConnectionPool(configuration: configuration, pool: pool, clock: clock)
        }
        state = Mutex(
            State(
                failures: Array(repeating: 0, count: shards.count),
                ejectedUntil: Array(repeating: nil, count: shards.count), ring: ring, live: Array(shards.indices)))
    }

    /// The shard that serves `key` now (ejected shards left out).
    public func shard(for key: String) -> Endpoint {
        shards[shardIndex(for: key)]
    }

    /// The shards out of the ring now.
    public var ejectedShards: [Endpoint] {
        let now = clock.now()
        return state.withLock { state in
            state.ejectedUntil.indices.filter { state.ejectedUntil[$0].map { now < $0 } ?? false }.map { shards[$0] }
        }
    }

    /// Sends `command` to the shard that serves `key`.
    ///
    /// - Throws: ``RedisError``; a connection failure also counts toward ejecting the shard.
    public func send(_ command: RESPCommand, key: String, timeout: Duration? = nil) async throws(RedisError)
        -> RESPValue
    {
        let index = shardIndex(for: key)
        do {
            let reply = try await pools[index].send(command, timeout: timeout)
            state.withLock { $0.failures[index] = 0 }
            return reply
        } catch {
            if error.code != .server { recordFailure(of: index) }
            throw error
        }
    }

    /// Closes every shard's connections.
    public func close() async {
        for pool in pools { await pool.close() }
    }

    private func shardIndex(for key: String) -> Int {
        let now = clock.now()
        return state.withLock { state in
            let due = state.ejectedUntil.indices.filter { state.ejectedUntil[$0].map { now >= $0 } ?? false }
            if !due.isEmpty {  // their time out is over: back into the ring
                for index in due {
                    state.ejectedUntil[index] = nil
                    state.failures[index] = 0
                }
                rebuild(&state)
            }
            return state.live[state.ring.index(for: key)]
        }
    }

    private func recordFailure(of index: Int) {
        guard let ejection else { return }
        let now = clock.now()
        state.withLock { state in
            state.failures[index] += 1
            guard state.failures[index] >= ejection.failureLimit, state.ejectedUntil[index] == nil,
                state.live.count > 1
            else { return }
            state.ejectedUntil[index] = now + ejection.retryAfter
            rebuild(&state)
        }
    }

    private func rebuild(_ state: inout State) {
        let live = shards.indices.filter { state.ejectedUntil[$0] == nil }
        guard let ring = try? HashRing(nodes: live.map { shards[$0] }, algorithm: algorithm) else { return }
        state.ring = ring
        state.live = live
    }
}
