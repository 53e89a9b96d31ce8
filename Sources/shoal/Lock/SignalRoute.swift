import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Where SIGTERM, SIGINT and SIGHUP go instead of ending `shoal lock` at once: first to
/// cancelling the wait for the lock, then to the command, so the lock is always left or
/// released in order.
final class SignalRoute: Sendable {
    private struct State {
        var received: Int32?
        var action: (@Sendable (Int32) -> Void)?
    }

    private let state = Mutex(State())

    /// The first signal received, if any.
    var received: Int32? { state.withLock { $0.received } }

    /// Sends later signals to `action`; returns a signal that came before, if any.
    @discardableResult
    func route(to action: @escaping @Sendable (Int32) -> Void) -> Int32? {
        state.withLock { state in
            state.action = action
            return state.received
        }
    }

    fileprivate func deliver(_ number: Int32) {
        let action = state.withLock { state in
            if state.received == nil { state.received = number }
            return state.action
        }
        action?(number)
    }
}

/// Catches SIGTERM, SIGINT and SIGHUP for a ``SignalRoute`` until stopped.
struct SignalTrap {
    private let sources: [any DispatchSourceSignal]

    init(_ route: SignalRoute) {
        sources = [SIGTERM, SIGINT, SIGHUP].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { route.deliver(number) }
            source.resume()
            return source
        }
    }

    func stop() {
        for source in sources { source.cancel() }
    }
}
