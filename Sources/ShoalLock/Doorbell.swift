import NIOCore
import Synchronization

/// Wakes one waiting task, or remembers a ring that came before the wait.
///
/// The wait's time-out is a timer on a NIO event loop rather than a sleeping child task,
/// so a ring resumes the waiter directly: on the hot path of a lock hand-over, there is
/// no task to create and none to cancel.
final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var handed: UInt64?
        var waiting: CheckedContinuation<Void, Never>?
        /// Which wait a time-out belongs to, so a late timer cannot end a later wait.
        var generation = 0
    }

    private let state = Mutex(State())
    private let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// What the last ring handed over (a lock's fencing token), if anything.
    var handed: UInt64? { state.withLock { $0.handed } }

    /// Wakes the waiter, leaving `value` for it to read from ``handed``.
    func ring(handing value: UInt64? = nil) {
        let waiting = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let value { state.handed = value }
            guard let waiting = state.waiting else {
                state.rung = true
                return nil
            }
            state.waiting = nil
            return waiting
        }
        waiting?.resume()
    }

    /// Returns when rung (a ring before the call counts) or after `timeout`.
    ///
    /// - Throws: `CancellationError` when the task is cancelled.
    func wait(upTo timeout: Duration) async throws {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let generation = state.withLock { state -> Int? in
                    if state.rung || Task.isCancelled {
                        state.rung = false
                        return nil
                    }
                    state.generation += 1
                    state.waiting = continuation
                    return state.generation
                }
                guard let generation else {
                    continuation.resume()
                    return
                }
                eventLoop.scheduleTask(in: .nanoseconds(max(timeout.totalNanoseconds, 0))) { [self] in
                    self.take(ifGeneration: generation)?.resume()
                }
            }
        } onCancel: {
            take(ifGeneration: nil)?.resume()
        }
        try Task.checkCancellation()
    }

    /// Takes the waiting continuation, if there is one and it belongs to `generation` (any,
    /// for `nil`).
    private func take(ifGeneration generation: Int?) -> CheckedContinuation<Void, Never>? {
        state.withLock { state in
            guard let waiting = state.waiting, generation == nil || generation == state.generation else { return nil }
            state.waiting = nil
            return waiting
        }
    }
}
