import ShoalBalancing
import ShoalCore

/// The decisions of one ``ServiceClient`` call — when to try another instance, when to send
/// a hedge, and how the call ends — as a value with no I/O. The call's task group sends
/// requests and waits; it tells the machine what each try became and does what it answers.
/// Time comes in with each event, from the client's clock; the balancer's answers (is an
/// instance left untried? does the retry budget give one?) come as non-escaping closures.
///
/// The rule for another try is ``RetryRule``, the one the gateway follows too.
struct ServiceCallStateMachine {
    /// How the call ends, or what it does next.
    enum Action: Equatable {
        /// Other tries are still running: wait for them.
        case wait
        /// Pick an instance not tried yet and start a try; if none can be picked, tell the
        /// machine (``retryNotStarted(now:cancelled:)``).
        case retry
        /// The answer just received ends the call; tries still running lose.
        case returnAnswer
        /// The last 502 or 503 received ends the call: no other instance could do better.
        case returnServerError
        /// The call fails.
        case fail(Failure)
    }

    /// Why a call fails.
    enum Failure: Equatable {
        case timedOut
        case allAttemptsFailed
        case cancelled
    }

    let rule: RetryRule
    /// Whether the request may be sent twice (``RetryRule/isRepeatable(method:hasBody:)``).
    let repeatable: Bool
    /// When the call's overall timeout ends.
    let deadline: MonotonicInstant
    /// The instances tried, in order; every try goes to one not tried before.
    private(set) var tried: [String] = []
    /// Tries sent and not yet answered.
    private(set) var inFlight = 0
    /// The failed tries, for the error.
    private(set) var attempts: [ServiceCallError.Attempt] = []
    /// Whether a hedge may still go (one a call, and only while one try runs).
    private var hedgePending: Bool
    /// Whether every failure so far was a timeout.
    private var allTimedOut = true
    /// Whether a 502 or 503 was received, which the caller holds.
    private var holdsServerError = false

    init(rule: RetryRule, repeatable: Bool, deadline: MonotonicInstant, hedging: Bool) {
        self.rule = rule
        self.repeatable = repeatable
        self.deadline = deadline
        hedgePending = hedging
    }

    /// A try went to the instance at `address`.
    mutating func started(address: String) {
        tried.append(address)
        inFlight += 1
    }

    /// The hedge's wait ended: whether to send a hedge now (then start a try).
    mutating func hedgeDue(
        now: MonotonicInstant, untriedLeft: (_ tried: [String]) -> Bool, withdrawRetry: () -> Bool
    ) -> Bool {
        guard hedgePending, inFlight == 1,
            mayTryAgain(now: now, untriedLeft: untriedLeft, withdrawRetry: withdrawRetry)
        else { return false }
        hedgePending = false
        return true
    }

    /// The instance at `address` answered; `serverError` when with 502 or 503, which another
    /// instance may do better than.
    mutating func answered(
        address: String, status: Int, now: MonotonicInstant, untriedLeft: (_ tried: [String]) -> Bool,
        withdrawRetry: () -> Bool
    ) -> Action {
        inFlight -= 1
        guard status == 502 || status == 503 else { return .returnAnswer }
        attempts.append(.init(instance: address, failure: "answered \(status)"))
        allTimedOut = false
        holdsServerError = true
        return next(now: now, cancelled: false, untriedLeft: untriedLeft, withdrawRetry: withdrawRetry)
    }

    /// The try to `address` got no answer: `timeout` when its time ran out; `reason` says
    /// what happened. `cancelled` when the caller's task was cancelled.
    mutating func failed(
        address: String, timeout: Bool, reason: String, now: MonotonicInstant, cancelled: Bool,
        untriedLeft: (_ tried: [String]) -> Bool, withdrawRetry: () -> Bool
    ) -> Action {
        inFlight -= 1
        attempts.append(.init(instance: address, failure: reason))
        if !timeout { allTimedOut = false }
        return next(now: now, cancelled: cancelled, untriedLeft: untriedLeft, withdrawRetry: withdrawRetry)
    }

    /// A retry was due but no instance could be picked for it.
    func retryNotStarted(now: MonotonicInstant, cancelled: Bool) -> Action {
        end(now: now, cancelled: cancelled)
    }

    private mutating func next(
        now: MonotonicInstant, cancelled: Bool, untriedLeft: (_ tried: [String]) -> Bool, withdrawRetry: () -> Bool
    ) -> Action {
        if inFlight > 0 { return .wait }
        if !cancelled && mayTryAgain(now: now, untriedLeft: untriedLeft, withdrawRetry: withdrawRetry) {
            return .retry
        }
        return end(now: now, cancelled: cancelled)
    }

    /// How the call ends when no try runs and none may start.
    private func end(now: MonotonicInstant, cancelled: Bool) -> Action {
        if holdsServerError { return .returnServerError }
        if cancelled { return .fail(.cancelled) }
        if allTimedOut || now >= deadline { return .fail(.timedOut) }
        return .fail(.allAttemptsFailed)
    }

    private func mayTryAgain(
        now: MonotonicInstant, untriedLeft: (_ tried: [String]) -> Bool, withdrawRetry: () -> Bool
    ) -> Bool {
        rule.allowsAnotherTry(
            triesSoFar: tried.count, repeatable: repeatable, answerStarted: false, timeLeft: now < deadline,
            untriedLeft: { untriedLeft(tried) }, withdraw: withdrawRetry)
    }
}
