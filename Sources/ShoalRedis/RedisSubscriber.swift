import NIOCore
import NIOPosix
import ServiceLifecycle
import ShoalRESP
import Synchronization

/// Pub/sub on a connection of its own that comes back by itself.
///
/// ```swift
/// let subscriber = RedisSubscriber(configuration: RedisConfiguration(port: 6379))
/// // run `subscriber` in a ServiceGroup (or a task group): it reconnects while it runs
/// for await message in try await subscriber.messages(from: "deploys") {
///     print(String(buffer: message.payload))
/// }
/// ```
///
/// A subscription is confirmed by the server before ``messages(from:)`` returns, so nothing
/// published after that is missed while the connection lasts. When the connection drops,
/// ``run()`` reconnects with ``RedisBackoff`` and subscribes again to every channel that
/// still has a listener; messages published while it was away are lost (Redis pub/sub keeps
/// nothing), which ``Event/resubscribed`` tells callback listeners so they can catch up.
/// Without ``run()``, subscribing works (the connection opens in the caller's task), but a
/// lost connection comes back only when a new subscription needs it.
/// A channel is unsubscribed ``linger`` after its last listener goes, so a listener that
/// comes back soon (a lock's waiters, turn after turn) need not wait for SUBSCRIBE again.
public final class RedisSubscriber: Service, Sendable {
    /// What a callback listener hears.
    public enum Event: Sendable, Hashable {
        case message(RedisMessage)
        /// The connection was lost and the channel subscribed again: messages published in
        /// between are lost.
        case resubscribed
    }

    /// Stops a callback listener; see ``RedisSubscriber/listen(to:_:)``.
    public struct Listener: Sendable {
        let subscriber: RedisSubscriber
        let channel: String
        let id: Int

        /// Stops delivery; the channel is unsubscribed if nobody else listens.
        public func cancel() { subscriber.removeListener(id, from: channel) }
    }

    public let configuration: RedisConfiguration
    public let backoff: RedisBackoff
    /// The event loop the connection lives on (and listeners are called on).
    public let eventLoop: any EventLoop
    /// How long a channel stays subscribed after its last listener goes. Default 1 s.
    public let linger: Duration
    private let state = Mutex(State())
    /// A lost connection that ``run()`` should replace.
    private let lostConnections = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    /// Whether ``run()`` was called (only the first reconnects).
    private let running = Atomic<Bool>(false)

    private struct Registered {
        let deliver: @Sendable (Event) -> Void
        let finish: @Sendable () -> Void
    }

    private struct State {
        var listeners: [String: [Int: Registered]] = [:]
        var nextID = 0
        var connection: RedisConnection?
        /// With sentinels: the connection to one of them that hears of failovers.
        var watch: RedisConnection?
        /// Whether a caller is opening a connection; the others wait in `openWaiters`.
        var opening = false
        var openWaiters: [CheckedContinuation<Turn, any Error>] = []
        var closed = false
        /// Channels SUBSCRIBE was sent for on the current connection.
        var requested: Set<String> = []
        var confirmed: Set<String> = []
        /// Channels that were confirmed on a connection that was lost.
        var lost: Set<String> = []
        var awaitingConfirmation: [String: [Int: CheckedContinuation<Void, any Error>]] = [:]
        /// Channels with no listener left, still subscribed until their linger ends; the
        /// value tells one linger from the next.
        var lingering: [String: Int] = [:]
    }

    public init(
        configuration: RedisConfiguration, backoff: RedisBackoff = RedisBackoff(),
        eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next(), linger: Duration = .seconds(1)
    ) {
        self.configuration = configuration
        self.backoff = backoff
        self.eventLoop = eventLoop
        self.linger = linger
    }

    /// Subscribes to `channel` and returns its messages. Dropping the sequence, or
    /// cancelling the task that iterates it, unsubscribes. The sequence finishes when the
    /// subscriber is closed. Up to 4096 messages wait for a slow reader; older ones are dropped.
    ///
    /// - Throws: ``RedisError`` when the server cannot be reached or does not confirm in
    ///   ``RedisConfiguration/commandTimeout``.
    public func messages(from channel: String) async throws(RedisError) -> AsyncStream<RedisMessage> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: RedisMessage.self, bufferingPolicy: .bufferingNewest(4096))
        let listener = try await listen(
            to: channel,
            { event in if case .message(let message) = event { continuation.yield(message) } },
            finish: { continuation.finish() })
        continuation.onTermination = { _ in listener.cancel() }
        return stream
    }

    /// Subscribes to `channel` and calls `handler` (on a connection thread; keep it short)
    /// for each message, and once after each resubscription.
    public func listen(to channel: String, _ handler: @escaping @Sendable (Event) -> Void) async throws(RedisError)
        -> Listener
    {
        try await listen(to: channel, handler, finish: {})
    }

    /// The channels subscribed to now (confirmed by the server, lingering ones included),
    /// for audits.
    public var subscribedChannels: Set<String> { state.withLock { $0.confirmed } }

    /// Whether `channel` is subscribed now, so a new listener would hear at once.
    public func isSubscribed(to channel: String) -> Bool { state.withLock { $0.confirmed.contains(channel) } }

    /// Reconnects after a lost connection, with ``backoff``, and subscribes again, until
    /// graceful shutdown or cancellation; then closes the subscriber (``close()``), so
    /// nothing it started is left running. A second `run()` only waits for the shutdown.
    public func run() async throws {
        guard !running.exchange(true, ordering: .relaxed) else {
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            for await _ in self.lostConnections.stream { await self.reconnect() }
        }
        await close()
    }

    /// Unsubscribes from everything, closes the connection and finishes every sequence.
    public func close() async {
        let (connection, finishes) = state.withLock { state -> (RedisConnection?, [@Sendable () -> Void]) in
            state.closed = true
            let finishes = state.listeners.values.flatMap { $0.values.map(\.finish) }
            state.listeners = [:]
            for waiting in state.awaitingConfirmation.values.flatMap(\.values) {
                waiting.resume(throwing: RedisError(.connectionClosed, "the subscriber was closed"))
            }
            state.awaitingConfirmation = [:]
            for waiting in state.openWaiters {
                waiting.resume(throwing: RedisError(.connectionClosed, "the subscriber was closed"))
            }
            state.openWaiters = []
            defer {
                state.connection = nil
                state.watch = nil
            }
            state.watch?.closeSoon()
            return (state.connection, finishes)
        }
        lostConnections.continuation.finish()
        finishes.forEach { $0() }
        await connection?.close()
    }

    private func listen(
        to channel: String, _ deliver: @escaping @Sendable (Event) -> Void, finish: @escaping @Sendable () -> Void
    ) async throws(RedisError) -> Listener {
        let (id, confirmed) = state.withLock { state in
            state.nextID += 1
            state.listeners[channel, default: [:]][state.nextID] = Registered(deliver: deliver, finish: finish)
            state.lingering[channel] = nil
            return (state.nextID, state.confirmed.contains(channel))
        }
        let listener = Listener(subscriber: self, channel: channel, id: id)
        if confirmed { return listener }  // subscribed already: nothing to wait for
        do {
            let connection = try await connection()
            try await confirmation(of: channel, id: id, on: connection)
        } catch {
            listener.cancel()
            throw error
        }
        return listener
    }

    /// Waits until the server confirms `channel`, sending SUBSCRIBE if nobody has yet.
    private func confirmation(of channel: String, id: Int, on connection: RedisConnection) async throws(RedisError) {
        // An event-loop timer, not a task: it fails the wait if the server stays silent. It
        // starts once the wait is registered, so it cannot fire before there is one to fail.
        let address = "\(configuration.host):\(configuration.port)"
        let timeout = TimeAmount.nanoseconds(configuration.commandTimeout.totalNanoseconds)
        var timer: Scheduled<Void>?
        defer { timer?.cancel() }
        do {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                state.withLock { state in
                    if state.closed {
                        continuation.resume(throwing: RedisError(.connectionClosed, "the subscriber was closed"))
                    } else if state.confirmed.contains(channel) {
                        continuation.resume()
                    } else {
                        state.awaitingConfirmation[channel, default: [:]][id] = continuation
                        timer = eventLoop.scheduleTask(in: timeout) { [weak self] in
                            self?.failConfirmation(
                                of: channel, id: id, RedisError(.timeout, "\(address) did not confirm SUBSCRIBE \(channel)"))
                        }
                        if state.connection === connection, state.requested.insert(channel).inserted {
                            connection.writeWithoutReply([RESPCommand("SUBSCRIBE", channel)])
                        }
                    }
                }
            }
        } catch let error as RedisError {
            throw error
        } catch {
            throw RedisError(.connectionClosed, "subscribing to \(channel) failed: \(error)")
        }
    }

    private func failConfirmation(of channel: String, id: Int, _ error: RedisError) {
        let waiting = state.withLock { $0.awaitingConfirmation[channel]?.removeValue(forKey: id) }
        waiting?.resume(throwing: error)
    }

    fileprivate func removeListener(_ id: Int, from channel: String) {
        let lingerID = state.withLock { state -> Int? in
            guard state.listeners[channel]?.removeValue(forKey: id) != nil else { return nil }
            guard state.listeners[channel]?.isEmpty == true else { return nil }
            state.listeners[channel] = nil
            state.lost.remove(channel)
            guard linger > .zero, state.confirmed.contains(channel) else {
                Self.unsubscribe(channel, &state)
                return nil
            }
            state.nextID += 1
            state.lingering[channel] = state.nextID
            return state.nextID
        }
        guard let lingerID else { return }
        eventLoop.scheduleTask(in: .nanoseconds(linger.totalNanoseconds)) { [weak self] in
            self?.state.withLock { state in
                guard state.lingering[channel] == lingerID else { return }  // a listener came back
                state.lingering[channel] = nil
                Self.unsubscribe(channel, &state)
            }
        }
    }

    private static func unsubscribe(_ channel: String, _ state: inout State) {
        if state.requested.remove(channel) != nil {
            state.confirmed.remove(channel)
            state.connection?.writeWithoutReply([RESPCommand("UNSUBSCRIBE", channel)])
        }
    }

    /// What a caller of ``connection()`` does: use the connection, or open one.
    private enum Turn {
        case connected(RedisConnection)
        case open
    }

    /// The current connection, or a new one: one attempt, made in the task of the first
    /// caller that needs it, whose outcome the callers that come meanwhile share.
    private func connection() async throws(RedisError) -> RedisConnection {
        do {
            let turn = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Turn, any Error>) in
                state.withLock { state in
                    if state.closed {
                        continuation.resume(throwing: RedisError(.connectionClosed, "the subscriber was closed"))
                    } else if let connection = state.connection {
                        continuation.resume(returning: .connected(connection))
                    } else if state.opening {
                        state.openWaiters.append(continuation)
                    } else {
                        state.opening = true
                        continuation.resume(returning: .open)
                    }
                }
            }
            switch turn {
            case .connected(let connection):
                return connection
            case .open:
                let result: Result<RedisConnection, any Error>
                do {
                    result = .success(try await openConnection())
                } catch {
                    result = .failure(error)
                }
                let waiters = state.withLock { state in
                    state.opening = false
                    defer { state.openWaiters = [] }
                    return state.openWaiters
                }
                for waiter in waiters { waiter.resume(with: result.map(Turn.connected)) }
                return try result.get()
            }
        } catch let error as RedisError {
            throw error
        } catch {
            throw RedisError(.connectionRefused, "\(error)")
        }
    }

    private func openConnection() async throws -> RedisConnection {
        let opened = try await RedisConnection.connect(
            configuration,
            onPush: { [weak self] push in
                self?.received(RedisPush(push))
            })
        var watch: RedisConnection?
        if let sentinel = configuration.sentinel {
            do {
                watch = try await RedisSentinelWatch.open(sentinel, group: eventLoop) { [weak opened] primary in
                    // The primary moved: this connection is to a replica now, or to nothing.
                    guard let opened, opened.configuration.host != primary.host || opened.configuration.port != primary.port
                    else { return }
                    opened.closeSoon()
                }
            } catch {
                await opened.close()
                throw error
            }
        }
        let installed = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.connection = opened
            state.watch = watch
            state.lingering = [:]
            state.requested = Set(state.listeners.keys)
            state.confirmed = []
            if !state.requested.isEmpty {
                opened.writeWithoutReply([RESPCommand(["SUBSCRIBE"] + state.requested.sorted())])
            }
            return true
        }
        guard installed else {
            watch?.closeSoon()
            await opened.close()
            throw RedisError(.connectionClosed, "the subscriber was closed")
        }
        opened.onClose { [weak self] in self?.lostConnection(opened) }
        // Without a sentinel to hear from, a failover could go unnoticed: start again.
        watch?.onClose { [weak opened] in opened?.closeSoon() }
        return opened
    }

    private func received(_ push: RedisPush) {
        switch push {
        case .message(let message):
            let listeners = state.withLock { $0.listeners[message.channel].map { Array($0.values) } ?? [] }
            for listener in listeners { listener.deliver(.message(message)) }
        case .subscribed(let channel):
            let (waiting, resubscribed) = state.withLock { state in
                guard state.requested.contains(channel) else {
                    return ([CheckedContinuation<Void, any Error>](), [Registered]())
                }
                state.confirmed.insert(channel)
                let waiting = state.awaitingConfirmation.removeValue(forKey: channel).map { Array($0.values) } ?? []
                let resubscribed = state.lost.remove(channel) != nil
                return (waiting, resubscribed ? Array(state.listeners[channel, default: [:]].values) : [])
            }
            waiting.forEach { $0.resume() }
            resubscribed.forEach { $0.deliver(.resubscribed) }
        case .unsubscribed, .other:
            break
        }
    }

    private func lostConnection(_ connection: RedisConnection) {
        let reconnect = state.withLock { state -> Bool in
            guard state.connection === connection else { return false }
            state.connection = nil
            state.watch?.closeSoon()
            state.watch = nil
            state.lost.formUnion(state.confirmed)
            state.requested = []
            state.confirmed = []
            let waiting = state.awaitingConfirmation.values.flatMap(\.values)
            state.awaitingConfirmation = [:]
            for continuation in waiting {
                continuation.resume(throwing: RedisError(.connectionClosed, "the connection to the server closed"))
            }
            return !state.closed && !state.listeners.isEmpty
        }
        if reconnect { lostConnections.continuation.yield() }
    }

    /// Tries again with back-off until connected, closed, cancelled, or nobody listens any
    /// more. Runs in ``run()``.
    private func reconnect() async {
        var attempt = 0
        while !Task.isCancelled {
            let goOn = state.withLock { !$0.closed && !$0.listeners.isEmpty && $0.connection == nil }
            guard goOn else { return }
            do {
                try await Task.sleep(for: backoff.delay(attempt: attempt))
            } catch {
                return
            }
            attempt += 1
            if (try? await connection()) != nil { return }
        }
    }
}
