import ShoalBalancing
import ShoalCore
import Testing

@testable import ShoalClient

/// A ServiceClient call's decisions, event by event: made-up times and balancer answers.
@Suite("a service call's state machine: retries, hedges, and how a call ends")
struct ServiceCallStateMachineTests {
    typealias Machine = ServiceCallStateMachine
    static let deadline = MonotonicInstant(nanoseconds: 30_000_000_000)
    static func at(_ seconds: Int64) -> MonotonicInstant { MonotonicInstant(nanoseconds: seconds * 1_000_000_000) }
    static func anyLeft(_: [String]) -> Bool { true }
    static func noneLeft(_: [String]) -> Bool { false }
    static func give() -> Bool { true }

    static func machine(retries: Int = 2, repeatable: Bool = true, hedging: Bool = false) -> Machine {
        Machine(rule: RetryRule(retries: retries), repeatable: repeatable, deadline: deadline, hedging: hedging)
    }

    /// `#expect` for what a mutating call returns (a macro's argument cannot mutate).
    func check(_ got: Machine.Action, _ expected: Machine.Action, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(got == expected, sourceLocation: sourceLocation)
    }

    func check(_ got: Bool, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(got, sourceLocation: sourceLocation)
    }

    @Test("a failed try goes to an instance not tried, up to the retries; then the call fails with every attempt")
    func retries() {
        var machine = Self.machine()
        var asked: [[String]] = []
        let untried: ([String]) -> Bool = { asked.append($0); return true }
        machine.started(address: "a")
        check(machine.failed(address: "a", timeout: false, reason: "refused", now: Self.at(1), cancelled: false, untriedLeft: untried, withdrawRetry: Self.give), .retry)
        machine.started(address: "b")
        check(machine.failed(address: "b", timeout: false, reason: "refused", now: Self.at(2), cancelled: false, untriedLeft: untried, withdrawRetry: Self.give), .retry)
        machine.started(address: "c")
        check(machine.failed(address: "c", timeout: true, reason: "slow", now: Self.at(3), cancelled: false, untriedLeft: untried, withdrawRetry: Self.give), .fail(.allAttemptsFailed))
        #expect(asked == [["a"], ["a", "b"]])
        #expect(machine.attempts.map(\.instance) == ["a", "b", "c"])
    }

    @Test("only timeouts, or the deadline passed: the call timed out")
    func timedOut() {
        var slow = Self.machine(retries: 0)
        slow.started(address: "a")
        check(slow.failed(address: "a", timeout: true, reason: "slow", now: Self.at(1), cancelled: false, untriedLeft: Self.anyLeft, withdrawRetry: Self.give), .fail(.timedOut))
        var late = Self.machine()
        late.started(address: "a")
        check(late.failed(address: "a", timeout: false, reason: "reset", now: Self.at(30), cancelled: false, untriedLeft: Self.anyLeft, withdrawRetry: Self.give), .fail(.timedOut))
    }

    @Test("502 and 503 go to another instance; with none left, the last of them is the answer")
    func serverErrors() {
        var machine = Self.machine()
        machine.started(address: "a")
        check(machine.answered(address: "a", status: 503, now: Self.at(1), untriedLeft: Self.anyLeft, withdrawRetry: Self.give), .retry)
        machine.started(address: "b")
        check(machine.answered(address: "b", status: 502, now: Self.at(2), untriedLeft: Self.noneLeft, withdrawRetry: Self.give), .returnServerError)
        var other = Self.machine()
        other.started(address: "a")
        check(other.answered(address: "a", status: 500, now: Self.at(1), untriedLeft: Self.anyLeft, withdrawRetry: Self.give), .returnAnswer)
    }

    @Test("no retry for a request that cannot be repeated, or when the budget says no")
    func noRetry() {
        var post = Self.machine(repeatable: false)
        post.started(address: "a")
        check(post.failed(address: "a", timeout: false, reason: "refused", now: Self.at(1), cancelled: false, untriedLeft: Self.anyLeft, withdrawRetry: Self.give), .fail(.allAttemptsFailed))
        var broke = Self.machine()
        broke.started(address: "a")
        check(broke.failed(address: "a", timeout: false, reason: "refused", now: Self.at(1), cancelled: false, untriedLeft: Self.anyLeft, withdrawRetry: { false }), .fail(.allAttemptsFailed))
        var noneLeft = Self.machine()
        noneLeft.started(address: "a")
        check(noneLeft.failed(address: "a", timeout: false, reason: "refused", now: Self.at(1), cancelled: false, untriedLeft: Self.anyLeft, withdrawRetry: Self.give), .retry)
        // The retry found no instance to pick after all (the service emptied meanwhile).
        check(noneLeft.retryNotStarted(now: Self.at(1), cancelled: false), .fail(.allAttemptsFailed))
    }

    @Test("one hedge a call, only while a single try runs; the first answer wins, a failure waits for the other")
    func hedging() {
        var machine = Self.machine(hedging: true)
        machine.started(address: "a")
        check(machine.hedgeDue(now: Self.at(1), untriedLeft: Self.anyLeft, withdrawRetry: Self.give))
        machine.started(address: "b")
        check(!machine.hedgeDue(now: Self.at(1), untriedLeft: Self.anyLeft, withdrawRetry: Self.give))
        check(machine.failed(address: "a", timeout: false, reason: "reset", now: Self.at(2), cancelled: false, untriedLeft: Self.anyLeft, withdrawRetry: Self.give), .wait)
        check(machine.answered(address: "b", status: 200, now: Self.at(2), untriedLeft: Self.anyLeft, withdrawRetry: Self.give), .returnAnswer)
        var unhedged = Self.machine(hedging: false)
        unhedged.started(address: "a")
        check(!unhedged.hedgeDue(now: Self.at(1), untriedLeft: Self.anyLeft, withdrawRetry: Self.give))
    }

    @Test("a cancelled call starts no retry and ends cancelled")
    func cancelled() {
        var machine = Self.machine()
        machine.started(address: "a")
        var asked = false
        check(machine.failed(address: "a", timeout: false, reason: "cancelled", now: Self.at(1), cancelled: true, untriedLeft: Self.anyLeft, withdrawRetry: { asked = true; return true }), .fail(.cancelled))
        #expect(!asked, "no retry is taken from the budget for a cancelled call")
    }
}
