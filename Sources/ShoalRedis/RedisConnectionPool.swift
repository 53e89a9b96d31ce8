import NIOCore
import NIOPosix
import ServiceLifecycle
import ShoalCore
import ShoalRESP
import Synchronization

/// Connections to one Redis server, lent to callers one at a time.
///
/// ```swift
/// let pool = RedisConnectionPool(configuration: RedisConfiguration(port: 6379))
/// let group = ServiceGroup(services: [pool, myService], logger: logger)   // or: Task { try await pool.run() }
/// let value = try await pool.send(RESPCommand("GET", "greeting"))
/// ```
///
/// A caller takes an idle connection (the most recently used, so few stay warm), opens one
/// if fewer than the maximum are open, or waits in line for one to come back. A connection
/// that closed while lent (a server gone, a cancelled command) is dropped, not reused.
///
/// The pool lends connections whether or not it runs; ``run()`` adds the upkeep: it opens
/// the minimum number of connections (again with back-off while the server is away), checks
/// idle ones with PING, closes idle ones above the minimum, and closes everything on
/// graceful shutdown or cancellation.
public final class RedisConnectionPool: Service, Sendable {
    public let configuration: RedisConfiguration
    public let pool: RedisPoolConfiguration
    /// The event loop every connection of the pool lives on.
    public let eventLoop: any EventLoop
    /// Runs tasks on ``eventLoop``, so replies resume them without a thread hop.
    public let taskExecutor: EventLoopTaskExecutor
    private let clock: any MonotonicClock
    private let state = Mutex(State())

    private struct Idle {
        let connection: RedisConnection
        let since: MonotonicInstant
        let generation: Int
    }

    private struct Lent {
        let connection: RedisConnection
        let generation: Int
    }

    private struct State {
        var idle: [Idle] = []
        /// Connections lent now, by identity, with the generation they were opened in.
        var lent: [ObjectIdentifier: Lent] = [:]
        /// Goes up by one each time the pool drains (a failover): connections of an older
        /// generation are closed, not lent again.
        var generation = 0
        /// Where the last connection opened goes: the primary, as far as the pool knows.
        var primary: RedisSentinel.Address?
        /// Open or opening connections, lent or idle.
        var open = 0
        var waiters: [(id: Int, continuation: CheckedContinuation<RedisConnection?, any Error>)] = []
        var nextWaiterID = 0
        var closed = false
    }

    /// Counts for dashboards and audits.
    public struct Statistics: Sendable, Hashable {
        public var open: Int
        public var idle: Int
        public var waiting: Int
    }

    /// - Parameter eventLoop: where the connections live; one of the shared group's loops
    ///   by default.
    public init(
        configuration: RedisConfiguration, pool: RedisPoolConfiguration = RedisPoolConfiguration(),
        eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next(),
        clock: any MonotonicClock = SystemClock()
    ) {
        self.configuration = configuration
        self.pool = pool
        self.eventLoop = eventLoop
        self.taskExecutor = EventLoopTaskExecutor(eventLoop)
        self.clock = clock
    }

    public var statistics: Statistics {
        state.withLock { Statistics(open: $0.open, idle: $0.idle.count, waiting: $0.waiters.count) }
    }

    /// Sends one command on a pooled connection.
    public func send(_ command: RESPCommand, timeout: Duration? = nil) async throws(RedisError) -> RESPValue {
        try await lending { connection throws(RedisError) in try await connection.send(command, timeout: timeout) }
    }

    /// Runs a script on a pooled connection; see ``RedisConnection/evaluate(_:keys:arguments:timeout:)``.
    public func evaluate(
        _ script: RedisScript, keys: [String] = [], arguments: [String] = [], timeout: Duration? = nil
    ) async throws(RedisError) -> RESPValue {
        try await lending { connection throws(RedisError) in
            try await connection.evaluate(script, keys: keys, arguments: arguments, timeout: timeout)
        }
    }

    /// Lends a connection to `body` and takes it back afterwards.
    ///
    /// - Throws: ``RedisError``: the server cannot be reached, no connection came free within
    ///   ``RedisPoolConfiguration/leaseTimeout``, the pool is closed, or what `body` threw.
    public func withConnection<Result>(_ body: (RedisConnection) async throws -> Result) async throws -> Result {
        let connection = try await lease()
        defer { giveBack(connection) }
        do {
            return try await body(connection)
        } catch let error as RedisError where error.code == .server && error.serverMessage?.hasPrefix("READONLY") == true {
            throw readOnly(connection, error)
        }
    }

    /// ``withConnection(_:)`` for bodies that throw only ``RedisError``.
    func lending<Result>(
        _ body: (RedisConnection) async throws(RedisError) -> Result
    ) async throws(RedisError) -> Result {
        let connection = try await lease()
        defer { giveBack(connection) }
        do {
            return try await body(connection)
        } catch where error.code == .server && error.serverMessage?.hasPrefix("READONLY") == true {
            throw readOnly(connection, error)
        }
    }

    /// A write reached a server that is now a replica: with sentinels, the pool drains, so the
    /// next caller connects to the new primary.
    private func readOnly(_ connection: RedisConnection, _ error: RedisError) -> RedisError {
        guard configuration.sentinel != nil else { return error }
        drain()
        return RedisError(
            .notPrimary, "\(connection.address) is no longer the primary (\(error.message)); the pool reconnects",
            serverMessage: error.serverMessage)
    }

    /// Drains the pool if its connections go elsewhere than `primary`.
    func primaryMoved(to primary: RedisSentinel.Address) {
        let moved = state.withLock { state in
            guard let current = state.primary, current != primary else { return false }
            state.primary = nil
            return true
        }
        if moved { drain() }
    }

    /// Closes every connection, idle or lent, and opens new ones for later callers: after a
    /// failover, none of them reaches the primary any more. Commands in flight on lent
    /// connections fail with ``RedisError/Code-swift.struct/connectionClosed``.
    public func drain() {
        let connections = state.withLock { state -> [RedisConnection] in
            state.generation += 1
            let idle = state.idle.map(\.connection)
            state.open -= state.idle.count
            state.idle = []
            return idle + state.lent.values.map(\.connection)
        }
        for connection in connections { connection.closeSoon() }
    }

    /// Opens the minimum, then looks after the connections until graceful shutdown or
    /// cancellation, and closes them all.
    ///
    /// With sentinels (``RedisConfiguration/sentinel``), it also listens to one of them for
    /// `+switch-master`, and drains the pool when the primary moves (``drain()``).
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                if let sentinel = self.configuration.sentinel {
                    group.addTask { await self.followFailovers(of: sentinel) }
                }
                group.addTask { await self.upkeep() }
            }
        }
        await close()
    }

    private func upkeep() async {
        var failures = 0
        while !Task.isCancelled {
            var pause = pool.healthCheckInterval
            if await openMinimum() {
                failures = 0
                await checkIdle()
            } else {
                pause = min(pause, pool.backoff.delay(attempt: failures))
                failures += 1
            }
            try? await Task.sleep(for: pause)
        }
    }

    /// Closes every connection; callers in line and later ones fail.
    public func close() async {
        let (idle, waiters) = state.withLock { state in
            state.closed = true
            defer {
                state.open -= state.idle.count
                state.idle = []
                state.waiters = []
            }
            return (state.idle.map(\.connection), state.waiters.map(\.continuation))
        }
        for waiter in waiters { waiter.resume(throwing: closedError) }
        for connection in idle { await connection.close() }
    }

    private var closedError: RedisError {
        RedisError(.connectionClosed, "the pool for \(configuration.host):\(configuration.port) is closed")
    }

    private enum Next {
        case use(RedisConnection)
        case open(generation: Int)
        case wait
    }

    private func lease() async throws(RedisError) -> RedisConnection {
        while true {
            let next = try state.withLock { state throws(RedisError) -> Next in
                if state.closed { throw closedError }
                while let idle = state.idle.popLast() {
                    if idle.connection.isConnected {
                        state.lent[ObjectIdentifier(idle.connection)] = Lent(
                            connection: idle.connection, generation: idle.generation)
                        return .use(idle.connection)
                    }
                    state.open -= 1
                }
                if state.open < pool.maximumConnections {
                    state.open += 1
                    return .open(generation: state.generation)
                }
                return .wait
            }
            switch next {
            case .use(let connection):
                return connection
            case .open(let generation):
                let connection = try await openConnection()
                state.withLock { state in
                    state.lent[ObjectIdentifier(connection)] = Lent(connection: connection, generation: generation)
                }
                return connection
            case .wait:
                if let connection = try await waitInLine() { return connection }
            }
        }
    }

    /// Opens a connection the caller has already counted in `open`.
    private func openConnection() async throws(RedisError) -> RedisConnection {
        do {
            let connection = try await RedisConnection.connect(configuration, group: eventLoop)
            let address = RedisSentinel.Address(host: connection.configuration.host, port: connection.configuration.port)
            state.withLock { $0.primary = address }
            return connection
        } catch {
            let waiter = state.withLock { state in
                state.open -= 1
                return state.waiters.isEmpty ? nil : state.waiters.removeFirst().continuation
            }
            waiter?.resume(returning: nil)  // room to open one: let the next caller try
            throw error
        }
    }

    /// Waits for a returned connection, or `nil` when there is room to open one.
    private func waitInLine() async throws(RedisError) -> RedisConnection? {
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let leaseTimeout = pool.leaseTimeout
        // A timer on the pool's event loop, not a task: it ends with the wait, whatever happens.
        // It starts once the waiter is in line, so that however short the time-out, it cannot
        // fire before there is a waiter to withdraw.
        var timer: Scheduled<Void>?
        defer { timer?.cancel() }
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    state.withLock { state in
                        if state.closed {
                            continuation.resume(throwing: closedError)
                        } else if Task.isCancelled {
                            continuation.resume(throwing: CancellationError())
                        } else {
                            state.waiters.append((id, continuation))
                            timer = eventLoop.scheduleTask(in: .nanoseconds(leaseTimeout.totalNanoseconds)) { [self] in
                                self.withdraw(
                                    id,
                                    RedisError(
                                        .timeout,
                                        "no connection to \(configuration.host):\(configuration.port) came free "
                                            + "within \(leaseTimeout)"))
                            }
                        }
                    }
                }
            } onCancel: {
                withdraw(id, CancellationError())
            }
        } catch let error as RedisError {
            throw error
        } catch {
            throw RedisError(.cancelled, "cancelled while waiting for a connection to \(configuration.host)")
        }
    }

    private func withdraw(_ id: Int, _ error: any Error) {
        let waiter = state.withLock { state in
            state.waiters.firstIndex { $0.id == id }.map { state.waiters.remove(at: $0).continuation }
        }
        waiter?.resume(throwing: error)
    }

    private func giveBack(_ connection: RedisConnection) {
        let now = clock.now()
        enum After { case handed(CheckedContinuation<RedisConnection?, any Error>, RedisConnection?), done, close }
        let after = state.withLock { state -> After in
            let lent = state.lent.removeValue(forKey: ObjectIdentifier(connection))
            let current = lent.map { $0.generation == state.generation } ?? true
            guard connection.isConnected, !state.closed, current else {
                state.open -= 1
                if !state.waiters.isEmpty { return .handed(state.waiters.removeFirst().continuation, nil) }
                return connection.isConnected ? .close : .done
            }
            if !state.waiters.isEmpty {
                state.lent[ObjectIdentifier(connection)] = Lent(connection: connection, generation: state.generation)
                return .handed(state.waiters.removeFirst().continuation, connection)
            }
            state.idle.append(Idle(connection: connection, since: now, generation: state.generation))
            return .done
        }
        switch after {
        case .handed(let waiter, let connection): waiter.resume(returning: connection)
        case .done: break
        case .close: connection.closeSoon()
        }
    }

    /// Opens connections up to the minimum; `false` if the server could not be reached.
    private func openMinimum() async -> Bool {
        while true {
            let generation = state.withLock { state -> Int? in
                guard !state.closed, state.open < pool.minimumConnections else { return nil }
                state.open += 1
                return state.generation
            }
            guard let generation else { return true }
            guard let connection = try? await openConnection() else { return false }
            state.withLock { state in
                state.lent[ObjectIdentifier(connection)] = Lent(connection: connection, generation: generation)
            }
            giveBack(connection)
        }
    }

    /// PINGs idle connections and closes those that fail, and those above the minimum idle
    /// for longer than the idle time-out.
    private func checkIdle() async {
        let now = clock.now()
        let (toCheck, toClose) = state.withLock { state -> ([RedisConnection], [RedisConnection]) in
            var surplus = state.open - pool.minimumConnections
            var keep: [Idle] = []
            var close: [RedisConnection] = []
            for idle in state.idle {  // oldest first
                if surplus > 0 && now - idle.since >= pool.idleTimeout {
                    close.append(idle.connection)
                    surplus -= 1
                    state.open -= 1
                } else {
                    keep.append(idle)
                    state.lent[ObjectIdentifier(idle.connection)] = Lent(
                        connection: idle.connection, generation: idle.generation)
                }
            }
            state.idle = []  // lent to the health check, still counted as open
            return (keep.map(\.connection), close)
        }
        for connection in toClose { await connection.close() }
        for connection in toCheck {
            if (try? await connection.send(RESPCommand("PING"), timeout: pool.leaseTimeout)) == nil {
                await connection.close()
            }
            giveBack(connection)
        }
    }
}
