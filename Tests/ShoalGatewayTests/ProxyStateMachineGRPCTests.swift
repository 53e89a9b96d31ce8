import NIOCore
import Testing

@testable import ShoalGateway

/// The machine's part in gRPC calls: a call is a `POST`, never idempotent, so it goes again
/// only when a try cannot have run it, or when its route retries the status it got, and
/// only with the body it sent, which the machine kept.
@Suite("the proxy's state machine: gRPC calls go again only when that is safe")
struct ProxyStateMachineGRPCTests {
    typealias Machine = ProxyStateMachine
    typealias Base = ProxyStateMachineTests

    /// A gRPC call with a body of unknown length, whose body the machine keeps for a retry.
    static let call = ExchangeState.Request(hasBody: true, repeatable: false, keepsBodyForRetry: true)

    @Test("a try that did not run the call: it goes again, with the body already sent first")
    func notRun() {
        var (machine, _) = Base.forwarding(Self.call)
        #expect(machine.bodyRead(Base.body(3)) == .send)
        #expect(machine.bodyRead(Base.body(4)) == .send)
        let action = machine.tryFailed(
            now: Base.at(1), notRun: true, untriedLeft: Base.anyLeft, withdrawRetry: Base.give)
        #expect(action == .retry)
        let (id, isRetry) = machine.picked(address: "b:1", now: Base.at(1))
        #expect(isRetry)
        #expect(machine.bodyRead(Base.body(5)) == .hold(pause: false))
        #expect(machine.connected(tryID: id) == .send(pending: [Base.body(3), Base.body(4), Base.body(5)], end: false))
    }

    @Test("a failure that may have run the call, or a body too large to keep, ends it with an error")
    func mayHaveRun() {
        var (ran, _) = Base.forwarding(Self.call)
        #expect(ran.bodyRead(Base.body(3)) == .send)
        let action = ran.tryFailed(now: Base.at(1), untriedLeft: Base.anyLeft, withdrawRetry: Base.give)
        #expect(action == .answer(.upstreamFailed, close: true, then: .nothing))

        var machine = Machine(limits: Base.limits, now: Base.start)
        let route = ExchangeState.Route(
            timeout: .seconds(30), perTryTimeout: .seconds(5), retries: 2, maxBodyBytes: 1 << 20)
        _ = machine.headRead(Self.call, route: route, now: Base.start)
        let (id, _) = machine.picked(address: "a:1", now: Base.start)
        _ = machine.connected(tryID: id)
        #expect(machine.bodyRead(Base.body(ExchangeState.maxKeptBodyBytes + 1)) == .send)
        let big = machine.tryFailed(now: Base.at(1), notRun: true, untriedLeft: Base.anyLeft, withdrawRetry: Base.give)
        #expect(big == .answer(.upstreamFailed, close: true, then: .nothing))
    }

    @Test("a status-only answer the route retries goes to another instance; once the response began, never")
    func retryableStatus() {
        var (machine, _) = Base.forwarding(Self.call)
        #expect(machine.bodyRead(Base.body(3)) == .send)
        _ = machine.bodyEnded(trailers: nil)
        let retried = machine.upstreamHead(
            status: 200, keepAlive: true, framing: nil, retryableAnswer: true, now: Base.at(1),
            untriedLeft: Base.anyLeft, withdrawRetry: Base.give)
        #expect(retried == .retry)
        let (id, _) = machine.picked(address: "b:1", now: Base.at(1))
        #expect(machine.connected(tryID: id) == .send(pending: [Base.body(3)], end: true))
        let kept = machine.upstreamHead(
            status: 200, keepAlive: true, framing: nil, retryableAnswer: false, now: Base.at(2),
            untriedLeft: Base.anyLeft, withdrawRetry: Base.give)
        #expect(kept == .writeHead(clientFraming: nil, keepAlive: true))
    }
}
