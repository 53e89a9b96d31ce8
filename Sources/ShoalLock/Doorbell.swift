import ShoalCore
import Synchronization

/// Wakes one waiting task, or remembers a ring that came before the wait.
final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiting: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func ring() {
        let waiting = state.withLock { state in
            guard let waiting = state.waiting else {
                state.rung = true
                return nil as CheckedContinuation<Void, Never>?
            }
            state.waiting = nil
            return waiting
        }
        waiting?.resume()
    }

    /// Returns when rung (a ring before the call counts) or at `deadline` on `clock`.
    ///
    /// - Throws: `CancellationError` when the task is cancelled.
    func wait(until deadline: MonotonicInstant, on clock: any MonotonicClock) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForRing() }
            group.addTask { try await clock.sleep(until: deadline) }
            _ = try await group.next()
            group.cancelAll()
        }
        try Task.checkCancellation()
    }

    private func waitForRing() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if state.rung || Task.isCancelled {
                        state.rung = false
                        return true
                    }
                    state.waiting = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiting = state.withLock { state in
                defer { state.waiting = nil }
                return state.waiting
            }
            waiting?.resume()
        }
    }
}
