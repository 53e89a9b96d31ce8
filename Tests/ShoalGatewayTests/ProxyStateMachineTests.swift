import NIOCore
import Testing

@testable import ShoalGateway

/// The gateway's decisions for one client connection, driven event by event with no event
/// loop and no socket: the times are made up, and so are the balancer's answers.
@Suite("the proxy's state machine: every event of a client connection, and what the gateway does")
struct ProxyStateMachineTests {
    typealias Machine = ProxyStateMachine
    static let limits = Machine.Limits(
        headerTimeout: .seconds(10), idleTimeout: .seconds(60), tunnelIdleTimeout: .seconds(300), maxHeldBytes: 1000)
    static let route = ExchangeState.Route(
        timeout: .seconds(30), perTryTimeout: .seconds(5), retries: 2, maxBodyBytes: 100)
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func at(_ seconds: Int64) -> NIODeadline { start + .seconds(seconds) }
    static let get = ExchangeState.Request()
    static func post(length: Int? = 10, chunked: Bool = false, expectsContinue: Bool = false) -> ExchangeState.Request {
        ExchangeState.Request(
            hasBody: true, contentLength: chunked ? nil : length, expectsContinue: expectsContinue, repeatable: false)
    }
    static func body(_ count: Int) -> ByteBuffer { ByteBuffer(repeating: 0x61, count: count) }

    /// A machine whose request went to an instance, connected, at `start`.
    static func forwarding(_ request: ExchangeState.Request = get) -> (Machine, tryID: Int) {
        var machine = Machine(limits: limits, now: start)
        _ = machine.headRead(request, route: route, now: start)
        let (id, _) = machine.picked(address: "a:1", now: start)
        _ = machine.connected(tryID: id)
        return (machine, id)
    }

    /// Balancer answers: every instance left untried, and a budget that always gives.
    static func anyLeft(_: [String]) -> Bool { true }
    static func give() -> Bool { true }

    /// `#expect(got == expected)` for a `got` that a mutating call returns (a macro's
    /// argument cannot mutate).
    func check<T: Equatable>(
        _ got: T, _ expected: T, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(got == expected, comment, sourceLocation: sourceLocation)
    }

    func check(_ got: Bool, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(got, comment, sourceLocation: sourceLocation)
    }

    // MARK: Waiting for a head

    @Test("a new connection waits for its head within the header timeout; a slow head gets 408")
    func slowHead() {
        var machine = Machine(limits: Self.limits, now: Self.start)
        #expect(machine.nextDeadline == Self.at(10))
        check(machine.bytesArrived(now: Self.at(1)))
        check(machine.timerFired(now: Self.at(9)), .rearm)
        check(machine.timerFired(now: Self.at(10)), .headTimedOut)
        #expect(machine.closing)
        #expect(machine.reading == .dropping)
        check(!machine.bytesArrived(now: Self.at(11)))
        #expect(machine.nextDeadline == nil)
    }

    @Test("between requests the idle timeout applies, until a byte of the next head comes")
    func idleThenHeader() {
        var (machine, _) = Self.forwarding()
        _ = machine.upstreamHead(
            status: 200, keepAlive: true, framing: .length(0), now: Self.at(1), untriedLeft: Self.anyLeft,
            withdrawRetry: Self.give)
        let end = machine.upstreamEnded()
        #expect(end == .init(failed: false, reuseConnection: true, lastChunk: false, then: .nextRequest))
        machine.nextRequest(bytesWaiting: false, now: Self.at(2))
        #expect(machine.exchange == nil)
        #expect(machine.nextDeadline == Self.at(62))
        // The first byte turns the idle wait into the header wait, from then.
        _ = machine.bytesArrived(now: Self.at(30))
        #expect(machine.nextDeadline == Self.at(40))
        // An idle connection that never sends closes quietly.
        var idle = machine
        idle.nextRequest(bytesWaiting: false, now: Self.at(2))
        check(idle.timerFired(now: Self.at(62)), .closeIdle)
        #expect(idle.closing)
    }

    @Test("a request with no route gets 404 and the next request is read; with a body, the connection closes")
    func noRoute() {
        var machine = Machine(limits: Self.limits, now: Self.start)
        check(
            machine.headRead(Self.get, route: nil, now: Self.start), .answer(.noRoute, close: false, then: .nextRequest)
        )
        machine.nextRequest(bytesWaiting: true, now: Self.start)
        #expect(machine.reading == .head)
        check(
            machine.headRead(Self.post(), route: nil, now: Self.start), .answer(.noRoute, close: true, then: .nothing))
        #expect(machine.reading == .dropping)
        #expect(machine.closing)
        // A declared length over the route's limit: 413 before a byte of the body is read.
        var large = Machine(limits: Self.limits, now: Self.start)
        check(
            large.headRead(Self.post(length: 101), route: Self.route, now: Self.start),
            .answer(.tooLarge, close: true, then: .nothing))
        // Connection: close on a request without a body closes after the answer.
        var closing = Machine(limits: Self.limits, now: Self.start)
        let once = ExchangeState.Request(keepAlive: false)
        check(closing.headRead(once, route: nil, now: Self.start), .answer(.noRoute, close: true, then: .nothing))
    }

    // MARK: Bodies

    @Test("body read before the connection is ready is held, then sent; too much held pauses the client")
    func heldBody() {
        var machine = Machine(limits: Self.limits, now: Self.start)
        let route = ExchangeState.Route(
            timeout: .seconds(30), perTryTimeout: .seconds(5), retries: 0, maxBodyBytes: 5000)
        check(machine.headRead(Self.post(length: 2000), route: route, now: Self.start), .forward(sendContinue: false))
        let (id, isRetry) = machine.picked(address: "a:1", now: Self.start)
        #expect(!isRetry)
        check(machine.bodyRead(Self.body(600)), .hold(pause: false))
        check(machine.bodyRead(Self.body(600)), .hold(pause: true))
        check(machine.connected(tryID: id), .send(pending: [Self.body(600), Self.body(600)], end: false))
        check(machine.bodyRead(Self.body(800)), .send)
        let (send, then) = machine.bodyEnded(trailers: nil)
        #expect(send)
        #expect(then == .nothing)  // the response has not ended
        #expect(machine.reading == .held)
    }

    @Test("Expect: 100-continue is answered only for a request with a body that is forwarded")
    func expectContinue() {
        var machine = Machine(limits: Self.limits, now: Self.start)
        check(
            machine.headRead(Self.post(expectsContinue: true), route: Self.route, now: Self.start),
            .forward(sendContinue: true))
        var refused = Machine(limits: Self.limits, now: Self.start)
        check(
            refused.headRead(Self.post(length: 500, expectsContinue: true), route: Self.route, now: Self.start),
            .answer(.tooLarge, close: true, then: .nothing))
        var noBody = Machine(limits: Self.limits, now: Self.start)
        let get = ExchangeState.Request(expectsContinue: true)
        check(noBody.headRead(get, route: Self.route, now: Self.start), .forward(sendContinue: false))
    }

    @Test("a chunked body over the route's limit gets 413 and a close; after the response began, a close alone")
    func bodyTooLarge() {
        var (machine, _) = Self.forwarding(Self.post(chunked: true))
        check(machine.bodyRead(Self.body(60)), .send)
        check(machine.bodyRead(Self.body(60)), .answerTooLarge)
        #expect(machine.closing)
        #expect(machine.exchange?.currentTry == ExchangeState.Try.none)
        var (started, _) = Self.forwarding(Self.post(chunked: true))
        _ = started.upstreamHead(
            status: 200, keepAlive: true, framing: .chunked, now: Self.at(1), untriedLeft: Self.anyLeft,
            withdrawRetry: Self.give)
        check(started.bodyRead(Self.body(101)), .closeTooLarge)
        #expect(started.reading == .dropping)
    }

    @Test("a malformed body gets 400 before the answer began, a close after it")
    func malformedBody() {
        var (machine, _) = Self.forwarding(Self.post(chunked: true))
        check(machine.bodyMalformed(), .answer)
        #expect(machine.closing)
        var (started, _) = Self.forwarding(Self.post(chunked: true))
        _ = started.upstreamHead(
            status: 200, keepAlive: true, framing: .length(1), now: Self.at(1), untriedLeft: Self.anyLeft,
            withdrawRetry: Self.give)
        check(started.bodyMalformed(), .close(logged: true))
    }

    @Test("a client that leaves mid-body abandons the try; one that leaves between requests abandons nothing")
    func clientLeaves() {
        var (machine, _) = Self.forwarding(Self.post(length: 50))
        check(machine.bodyRead(Self.body(20)), .send)
        check(machine.clientClosed(), .abandon(tunnel: false, status: 0))
        #expect(machine.exchange == nil)
        #expect(machine.nextDeadline == nil)
        var idle = Machine(limits: Self.limits, now: Self.start)
        check(idle.clientClosed(), .nothing)
    }

    @Test(
        "an answer before the whole body came closes the connection after it; the instance's connection is not reused")
    func earlyAnswer() {
        var (machine, _) = Self.forwarding(Self.post(length: 50))
        check(machine.bodyRead(Self.body(20)), .send)
        _ = machine.upstreamHead(
            status: 200, keepAlive: true, framing: .length(2), now: Self.at(1), untriedLeft: Self.anyLeft,
            withdrawRetry: Self.give)
        let end = machine.upstreamEnded()
        #expect(end == .init(failed: false, reuseConnection: false, lastChunk: false, then: .close))
        #expect(machine.closing)
    }

    // MARK: Tries

    @Test("a failed GET is retried on another instance, up to the route's retries; then 502")
    func retries() {
        var (machine, _) = Self.forwarding()
        var tried: [[String]] = []
        let untried: Machine.UntriedLeft = {
            tried.append($0); return true
        }
        check(machine.tryFailed(now: Self.at(1), untriedLeft: untried, withdrawRetry: Self.give), .retry)
        #expect(machine.exchange?.failedAddresses == ["a:1"])
        let (second, isRetry) = machine.picked(address: "b:1", now: Self.at(1))
        #expect(isRetry)
        _ = machine.connected(tryID: second)
        check(machine.tryFailed(now: Self.at(2), untriedLeft: untried, withdrawRetry: Self.give), .retry)
        _ = machine.picked(address: "c:1", now: Self.at(2))
        // Three tries: the route's two retries are spent.
        #expect(
            machine.tryFailed(now: Self.at(3), untriedLeft: untried, withdrawRetry: Self.give)
                == .answer(.upstreamFailed, close: false, then: .nextRequest))
        #expect(tried == [["a:1"], ["a:1", "b:1"]])
        #expect(machine.exchange?.tries == 3)
    }

    @Test("no retry for a POST, without an untried instance, without budget, or after the deadline")
    func noRetry() {
        var (post, _) = Self.forwarding(Self.post(length: 1))
        _ = post.bodyEnded(trailers: nil)
        check(
            post.tryFailed(now: Self.at(1), untriedLeft: Self.anyLeft, withdrawRetry: Self.give),
            .answer(.upstreamFailed, close: false, then: .nextRequest))
        var (alone, _) = Self.forwarding()
        check(
            alone.tryFailed(now: Self.at(1), untriedLeft: { _ in false }, withdrawRetry: Self.give),
            .answer(.upstreamFailed, close: false, then: .nextRequest))
        var (broke, _) = Self.forwarding()
        check(
            broke.tryFailed(now: Self.at(1), untriedLeft: Self.anyLeft, withdrawRetry: { false }),
            .answer(.upstreamFailed, close: false, then: .nextRequest))
        var (late, _) = Self.forwarding()
        var asked = false
        check(
            late.tryFailed(
                now: Self.at(30), untriedLeft: Self.anyLeft,
                withdrawRetry: {
                    asked = true; return true
                }), .answer(.upstreamFailed, close: false, then: .nextRequest))
        #expect(!asked, "the budget is asked only when everything else allows a retry")
    }

    @Test("a failed POST whose body is still coming closes the connection after its 502")
    func failedMidBody() {
        var (machine, _) = Self.forwarding(Self.post(length: 50))
        check(machine.bodyRead(Self.body(10)), .send)
        check(
            machine.tryFailed(now: Self.at(1), untriedLeft: Self.anyLeft, withdrawRetry: Self.give),
            .answer(.upstreamFailed, close: true, then: .nothing))
    }

    @Test("the per-try timeout fails the try and retries; the overall timeout answers 504 with no retry")
    func timeouts() {
        var (machine, _) = Self.forwarding()
        #expect(machine.nextDeadline == Self.at(5))
        check(machine.timerFired(now: Self.at(4)), .rearm)
        check(machine.timerFired(now: Self.at(5)), .tryTimedOut(final: false))
        check(
            machine.tryFailed(timeout: true, now: Self.at(5), untriedLeft: Self.anyLeft, withdrawRetry: Self.give),
            .retry)
        // A try that starts late is cut at the overall deadline, not five seconds on.
        let (id, _) = machine.picked(address: "b:1", now: Self.at(28))
        _ = machine.connected(tryID: id)
        #expect(machine.nextDeadline == Self.at(30))
        check(machine.timerFired(now: Self.at(30)), .tryTimedOut(final: true))
        check(
            machine.tryFailed(
                timeout: true, now: Self.at(30), final: true, untriedLeft: Self.anyLeft, withdrawRetry: Self.give),
            .answer(.timedOut, close: false, then: .nextRequest))
    }

    @Test("a response that began stops both timeouts; a failure after it cuts the response short")
    func cutShort() {
        var (machine, _) = Self.forwarding()
        _ = machine.upstreamHead(
            status: 200, keepAlive: true, framing: .length(100), now: Self.at(1), untriedLeft: Self.anyLeft,
            withdrawRetry: Self.give)
        #expect(machine.nextDeadline == nil)
        check(machine.timerFired(now: Self.at(100)), .rearm)
        check(machine.tryFailed(now: Self.at(101), untriedLeft: Self.anyLeft, withdrawRetry: Self.give), .cutShort)
        #expect(machine.closing)
    }

    @Test("an instance that closes before its head: the try fails like a refused connection, and is retried")
    func closedBeforeHead() {
        var (machine, first) = Self.forwarding()
        check(machine.tryFailed(now: Self.at(1), untriedLeft: Self.anyLeft, withdrawRetry: Self.give), .retry)
        #expect(machine.exchange?.currentTry == ExchangeState.Try.none)
        // The first try's connection, arriving late, is not used.
        check(machine.connected(tryID: first), .release)
    }

    @Test("502 and 503 are retried while a retry may go; other statuses, and 503 without one, go to the client")
    func serverErrors() {
        var (machine, _) = Self.forwarding()
        check(
            machine.upstreamHead(
                status: 503, keepAlive: true, framing: .length(0), now: Self.at(1), untriedLeft: Self.anyLeft,
                withdrawRetry: Self.give), .retry)
        #expect(machine.exchange?.failedAddresses == ["a:1"])
        let (id, _) = machine.picked(address: "b:1", now: Self.at(1))
        _ = machine.connected(tryID: id)
        check(
            machine.upstreamHead(
                status: 503, keepAlive: true, framing: .length(0), now: Self.at(2), untriedLeft: { _ in false },
                withdrawRetry: Self.give), .writeHead(clientFraming: .length(0), keepAlive: true))
        check(machine.upstreamEnded(), .init(failed: true, reuseConnection: true, lastChunk: false, then: .nextRequest))
        var (other, _) = Self.forwarding()
        check(
            other.upstreamHead(
                status: 500, keepAlive: true, framing: .length(0), now: Self.at(1), untriedLeft: Self.anyLeft,
                withdrawRetry: Self.give), .writeHead(clientFraming: .length(0), keepAlive: true))
    }

    @Test("no instance to pick: 503 on the first try, 502 once some were tried")
    func pickFailed() {
        var machine = Machine(limits: Self.limits, now: Self.start)
        _ = machine.headRead(Self.get, route: Self.route, now: Self.start)
        let first = machine.pickFailed()
        #expect(first.answer == .noInstance && !first.close && first.then == .nextRequest)
        var (tried, _) = Self.forwarding()
        _ = tried.tryFailed(now: Self.at(1), untriedLeft: Self.anyLeft, withdrawRetry: Self.give)
        let later = tried.pickFailed()
        #expect(later.answer == .allTriesFailed && !later.close && later.then == .nextRequest)
    }

    // MARK: Responses

    @Test("framing for the client: unknown length goes chunked to HTTP/1.1 and to the close for HTTP/1.0")
    func framing() {
        var (machine, _) = Self.forwarding()
        check(
            machine.upstreamHead(
                status: 200, keepAlive: true, framing: .untilClose, now: Self.at(1), untriedLeft: Self.anyLeft,
                withdrawRetry: Self.give), .writeHead(clientFraming: .chunked, keepAlive: true))
        check(machine.upstreamBodyRead(10, now: Self.at(1)))
        check(
            machine.upstreamEnded(), .init(failed: false, reuseConnection: false, lastChunk: true, then: .nextRequest))
        var old = ExchangeState.Request()
        old.minorVersion = 0
        var (oldMachine, _) = Self.forwarding(old)
        check(
            oldMachine.upstreamHead(
                status: 200, keepAlive: true, framing: .chunked, now: Self.at(1), untriedLeft: Self.anyLeft,
                withdrawRetry: Self.give), .writeHead(clientFraming: .untilClose, keepAlive: false))
        check(!oldMachine.upstreamBodyRead(10, now: Self.at(1)))
        check(oldMachine.upstreamEnded().then, .close)
    }

    @Test("an upgrade becomes a tunnel: the client's bytes go through, and it closes after its idle timeout")
    func upgrade() {
        var (machine, _) = Self.forwarding()
        check(
            machine.upstreamHead(
                status: 101, keepAlive: true, framing: .untilClose, now: Self.at(1), untriedLeft: Self.anyLeft,
                withdrawRetry: Self.give), .switchProtocols)
        #expect(machine.reading == .tunnel)
        #expect(machine.nextDeadline == Self.at(301))
        _ = machine.bytesArrived(now: Self.at(100))
        machine.tunnelRead(5, now: Self.at(100))
        check(machine.upstreamBodyRead(5, now: Self.at(200)), false)
        #expect(machine.nextDeadline == Self.at(500))
        check(machine.timerFired(now: Self.at(499)), .rearm)
        check(machine.timerFired(now: Self.at(500)), .closeIdleTunnel)
        var (left, _) = Self.forwarding()
        _ = left.upstreamHead(
            status: 101, keepAlive: true, framing: .untilClose, now: Self.at(1), untriedLeft: Self.anyLeft,
            withdrawRetry: Self.give)
        check(left.clientClosed(), .abandon(tunnel: true, status: 101))
    }

    // MARK: Drain

    @Test("drain with no idle grace closes an idle connection now, and a busy one after its response")
    func drain() {
        var idle = Machine(limits: Self.limits, now: Self.start)
        check(idle.drain(now: Self.start))
        #expect(idle.closing)
        var (busy, _) = Self.forwarding()
        check(!busy.drain(now: Self.start))
        check(
            busy.upstreamHead(
                status: 200, keepAlive: true, framing: .length(0), now: Self.at(1), untriedLeft: Self.anyLeft,
                withdrawRetry: Self.give), .writeHead(clientFraming: .length(0), keepAlive: false))
        check(busy.upstreamEnded().then, .close)
        #expect(busy.closing)
    }

    @Test(
        "drain with an idle grace: a request in the grace is answered with the connection closing; past it, the connection closes"
    )
    func drainIdleGrace() {
        var limits = Self.limits
        limits.drainIdleGrace = .seconds(1)
        var waiting = Machine(limits: limits, now: Self.start)
        check(!waiting.drain(now: Self.at(5)))
        #expect(!waiting.closing)
        #expect(waiting.nextDeadline == Self.at(6))
        // A request within the grace is forwarded and answered, and the connection closes after it.
        var answered = waiting
        _ = answered.bytesArrived(now: Self.at(5))
        check(answered.headRead(Self.get, route: Self.route, now: Self.at(5)), .forward(sendContinue: false))
        let (id, _) = answered.picked(address: "a:1", now: Self.at(5))
        _ = answered.connected(tryID: id)
        check(
            answered.upstreamHead(
                status: 200, keepAlive: true, framing: .length(0), now: Self.at(5), untriedLeft: Self.anyLeft,
                withdrawRetry: Self.give), .writeHead(clientFraming: .length(0), keepAlive: false))
        check(answered.upstreamEnded().then, .close)
        // None: closed quietly when the grace ends.
        check(waiting.timerFired(now: Self.at(5)), .rearm)
        check(waiting.timerFired(now: Self.at(6)), .closeIdle)
        #expect(waiting.closing)
        // Part of a head already here: it is answered (within the header timeout, which for a
        // new connection runs from its accept), not cut.
        var midHead = Machine(limits: limits, now: Self.start)
        _ = midHead.bytesArrived(now: Self.at(1))
        check(!midHead.drain(now: Self.at(2)))
        #expect(midHead.nextDeadline == Self.at(10))
    }

    @Test("a connection accepted during a drain serves one exchange and closes")
    func acceptedWhileDraining() {
        var machine = Machine(limits: Self.limits, now: Self.start)
        machine.drainAfterNextResponse()
        check(machine.headRead(Self.get, route: Self.route, now: Self.start), .forward(sendContinue: false))
        let (id, _) = machine.picked(address: "a:1", now: Self.start)
        _ = machine.connected(tryID: id)
        check(
            machine.upstreamHead(
                status: 200, keepAlive: true, framing: .length(0), now: Self.at(1), untriedLeft: Self.anyLeft,
                withdrawRetry: Self.give), .writeHead(clientFraming: .length(0), keepAlive: false))
        check(machine.upstreamEnded().then, .close)
    }

    @Test("a pipelined request waits while the current response streams")
    func pipelining() {
        var (machine, _) = Self.forwarding()
        #expect(machine.reading == .held)
        #expect(!machine.shouldPause(holding: 1000))
        #expect(machine.shouldPause(holding: 1001))
        _ = machine.upstreamHead(
            status: 200, keepAlive: true, framing: .length(0), now: Self.at(1), untriedLeft: Self.anyLeft,
            withdrawRetry: Self.give)
        check(machine.upstreamEnded().then, .nextRequest)
        machine.nextRequest(bytesWaiting: true, now: Self.at(1))
        #expect(machine.reading == .head)
        #expect(machine.nextDeadline == Self.at(11), "bytes already here: the header wait, not the idle wait")
    }

    @Test("a client that takes nothing for the send timeout is closed; one that takes some again is not")
    func sendTimeout() {
        var (machine, id) = Self.forwarding()
        _ = id
        _ = machine.upstreamHead(
            status: 200, keepAlive: true, framing: .length(1 << 20), now: Self.start, untriedLeft: Self.anyLeft,
            withdrawRetry: Self.give)
        #expect(machine.nextDeadline == nil)
        machine.clientWritable(false, now: Self.at(1))
        #expect(machine.nextDeadline == Self.at(61))
        check(machine.timerFired(now: Self.at(30)), .rearm)
        machine.clientWritable(true, now: Self.at(40))
        #expect(machine.nextDeadline == nil)
        machine.clientWritable(false, now: Self.at(50))
        machine.clientWritable(false, now: Self.at(80))  // still stalled: the wait runs from 50
        check(machine.timerFired(now: Self.at(109)), .rearm)
        check(machine.timerFired(now: Self.at(110)), .closeSendTimedOut)
        #expect(machine.closing)
        #expect(machine.nextDeadline == nil)
    }
}
