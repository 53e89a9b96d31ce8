import NIOCore

/// One timer a connection, re-armed lazily.
///
/// A connection has up to three deadlines: the wait for a request's head (header or idle
/// timeout), the current try's, and the request's overall one; a tunnel has its idle one.
/// The machine says which comes first (``ProxyStateMachine/nextDeadline``) and what its
/// passing means. Scheduling and cancelling a NIO task for each, on each request, costs more
/// than the rest of the request's own work. So the timer stays armed at the earliest
/// deadline it was set for; a later deadline leaves it alone, and when it fires the machine
/// acts on what is due and the timer re-arms for what is left.
///
/// An HTTP/2 stream's handler lives for one request, so its timer would be a NIO task
/// scheduled and cancelled a request, and NIO finds a task to cancel by searching every task
/// of the loop. Its deadline goes to its connection instead
/// (``HTTP2ServerConnection/schedule(_:at:)``), which keeps one task for its streams.
extension ProxyHandler {
    /// Arms the timer for the earliest pending deadline, unless it already fires before.
    func armTimer() {
        guard isOpen, let next = machine.nextDeadline else { return }
        if timerArmed && timerAt <= next { return }
        disarmTimer()
        timerAt = next
        if let stream {
            stream.connection.schedule(self, at: next)
            timerArmed = true
            return
        }
        // The task holds the handler until it runs or is cancelled, which the handler does
        // when its channel goes. (A weak reference would put every retain of the handler on
        // the runtime's slow path.)
        timer = loop.eventLoop.assumeIsolated().scheduleTask(deadline: next) {
            self.timerFired()
        }
        timerArmed = true
    }

    /// Stops the timer, if it is armed.
    func disarmTimer() {
        guard timerArmed else { return }
        timerArmed = false
        timerAt = .distantFuture
        if let timer {
            timer.cancel()
            self.timer = nil
        } else {
            stream?.connection.cancelTimer(for: self)
        }
    }

    /// The stream's connection says the deadline passed.
    func deadlinePassed() {
        timerFired()
    }

    private func timerFired() {
        timer = nil
        timerArmed = false
        timerAt = .distantFuture
        let state = machine.exchange
        switch machine.timerFired(now: now) {
        case .rearm:
            break
        case .closeIdleTunnel:
            let timeout = shared.configuration.limits.tunnelIdleTimeout
            logAccess(state, status: 101, error: "the tunnel carried nothing for \(timeout)")
            closeClient()
            return
        case .tryTimedOut(let final):
            tryFailed(
                timeout: true,
                final ? "no answer within the route's timeout" : "no answer within the per-try timeout", final: final)
        case .closeIdle:
            closeClient()
            return
        case .headTimedOut:
            refuseConnection(GatewayErrorResponse(status: .requestTimeout, message: "the request head took too long"))
            return
        case .closeSendTimedOut:
            let timeout = shared.configuration.limits.sendTimeout
            let error = "the client took none of the response for \(timeout)"
            logAccess(state, status: state?.status ?? 0, error: error)
            exchange?.endSpan(status: state?.status, tries: state?.tries ?? 0, error: error)
            closeClient()
            return
        }
        armTimer()
    }
}
