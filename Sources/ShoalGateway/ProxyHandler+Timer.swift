import NIOCore

/// One timer a connection, re-armed lazily.
///
/// A connection has up to three deadlines: the wait for a request's head (header or idle
/// timeout), the current try's, and the request's overall one; a tunnel has its idle one.
/// Scheduling and cancelling a NIO task for each, on each request, costs more than the rest
/// of the request's own work. So the timer stays armed at the earliest deadline it was set
/// for; a later deadline leaves it alone, and when it fires it acts on what is due and
/// re-arms for what is left.
extension ProxyHandler {
    /// Arms the timer for the earliest pending deadline, unless it already fires before.
    func armTimer() {
        guard let context, let next = earliestDeadline() else { return }
        if timer != nil && timerAt <= next { return }
        timer?.cancel()
        timerAt = next
        // The task holds the handler until it runs or is cancelled, which the handler does
        // when its channel goes. (A weak reference would put every retain of the handler on
        // the runtime's slow path.)
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: next) {
            self.timerFired()
        }
    }

    private func earliestDeadline() -> NIODeadline? {
        if case .tunnel = reading { return tunnelDeadline }
        guard let exchange else { return waitDeadline }
        var earliest = exchange.tryDeadline
        if exchange.overallActive { earliest = min(earliest ?? exchange.deadline, exchange.deadline) }
        return earliest
    }

    /// When a tunnel that carries nothing more is closed.
    private var tunnelDeadline: NIODeadline {
        tunnelActive + shared.configuration.limits.tunnelIdleTimeout.timeAmount
    }

    private func timerFired() {
        timer = nil
        timerAt = .distantFuture
        let now = NIODeadline.now()
        if case .tunnel = reading {
            guard tunnelDeadline > now else {
                let timeout = shared.configuration.limits.tunnelIdleTimeout
                logAccess(exchange, status: 101, error: "the tunnel carried nothing for \(timeout)")
                context?.close(promise: nil)
                return
            }
        } else if let exchange {
            if exchange.overallActive && exchange.deadline <= now {
                tryFailed(.timeout, "no answer within the route's timeout", final: true)
            } else if let deadline = exchange.tryDeadline, deadline <= now {
                tryFailed(.timeout, "no answer within the per-try timeout")
            }
        } else if let deadline = waitDeadline, deadline <= now {
            waitDeadline = nil
            waitRanOut()
            return
        }
        armTimer()
    }
}
