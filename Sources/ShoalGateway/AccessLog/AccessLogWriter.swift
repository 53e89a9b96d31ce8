import Metrics
import NIOPosix
import Synchronization

/// Writes the access log from a thread of its own, so that a destination that blocks (a full
/// pipe, a stalled disk) never holds up an event loop.
///
/// The loops hand over whole buffers of lines, written in the order they came. At most
/// `maxPendingBytes` wait; a buffer past that is dropped, and its lines are counted in
/// `shoal_gateway_access_log_dropped_lines_total`, as are the lines of writes the system
/// refused.
final class AccessLogWriter: Sendable {
    let file: AccessLogFile
    private let maxPendingBytes: Int
    /// Bytes handed over and not yet written.
    private let pending = Atomic<Int>(0)
    /// One thread, so buffers are written in the order they came.
    private let thread = NIOThreadPool(numberOfThreads: 1)
    private let dropped = Counter(label: "shoal_gateway_access_log_dropped_lines_total")

    init(file: AccessLogFile, maxPendingBytes: Int) {
        self.file = file
        self.maxPendingBytes = maxPendingBytes
        thread.start()
    }

    /// Queues `bytes`, which hold `lines` whole lines, to be written; drops them when too
    /// much already waits (but never a buffer when none waits).
    func write(_ bytes: [UInt8], lines: Int) {
        let size = bytes.count
        let waiting = pending.add(size, ordering: .relaxed).newValue
        guard waiting == size || waiting <= maxPendingBytes else {
            pending.subtract(size, ordering: .relaxed)
            dropped.increment(by: lines)
            return
        }
        thread.submit { [self] state in
            defer { pending.subtract(size, ordering: .relaxed) }
            guard case .active = state, bytes.withUnsafeBytes({ file.append($0) }) else {
                dropped.increment(by: lines)
                return
            }
        }
    }

    /// Waits until every buffer handed over is written, for at most `timeout` (a destination
    /// that takes nothing must not hold up a stop: what it has not taken is lost), then stops
    /// the thread.
    ///
    /// The caller's cancellation does not shorten the wait: the gateway finishes its log after
    /// a cancellation too, and the lines written by then must still go out.
    func finish(within timeout: Duration) async {
        let waiter = ResumeOnce()
        // An event-loop timer, which (unlike a child task) a cancelled caller does not end early.
        let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: timeout.timeAmount) {
            waiter.resume()
        }
        await withCheckedContinuation { continuation in
            waiter.wait(with: continuation)
            thread.submit { _ in waiter.resume() }
        }
        timer.cancel()
        thread.shutdownGracefully { _ in }
    }
}

/// A continuation resumed by whichever of several callers comes first; a resume before the
/// continuation is set is kept for it.
private final class ResumeOnce: Sendable {
    private enum State {
        case idle
        case waiting(CheckedContinuation<Void, Never>)
        case done
    }

    private let state = Mutex(State.idle)

    func wait(with continuation: CheckedContinuation<Void, Never>) {
        let resumed = state.withLock { state in
            if case .done = state { return true }
            state = .waiting(continuation)
            return false
        }
        if resumed { continuation.resume() }
    }

    func resume() {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state = .done }
            if case .waiting(let continuation) = state { return continuation }
            return nil
        }
        continuation?.resume()
    }
}
