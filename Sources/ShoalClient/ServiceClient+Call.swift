import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import ShoalBalancing
import ShoalCore
import ShoalDiscovery
import ShoalTracing
import Tracing

/// One call: tries, retries to other instances, hedging, and what each try tells the
/// balancer.
extension ServiceClient {
    /// What became of one try.
    enum TryEvent: Sendable {
        /// The instance answered (a head arrived).
        case answered(Pick, HTTPClientResponse, latency: Duration)
        /// No answer: a connect failure, a lost connection or a per-try timeout.
        case failed(Pick, PickOutcome.FailureKind, String)
        /// Time for a hedged try.
        case hedge
    }

    func call(
        service: String, _ request: HTTPClientRequest, options: CallOptions, balancer: ServiceBalancer,
        latencies: LatencyWindow
    ) async throws -> HTTPClientResponse {
        let started = clock.now()
        let deadline = started + options.timeout
        let hasBody: Bool = {
            if case .none = request.body { return false }
            return true
        }()
        let retryable = RetryRule.isRepeatable(method: request.method.rawValue.utf8, hasBody: hasBody)
        balancer.retryBudget.deposit()
        let span = tracer.map { tracer in
            let span = tracer.startSpan("\(request.method.rawValue)", ofKind: .client)
            span.updateAttributes { attributes in
                attributes["http.request.method"] = request.method.rawValue
                attributes["shoal.service"] = service
                attributes["url.path"] = String(request.url.prefix { $0 != "?" })
            }
            return span
        }
        var machine = ServiceCallStateMachine(
            rule: RetryRule(retries: options.retries), repeatable: retryable, deadline: deadline,
            hedging: options.hedging != nil)
        let budget = balancer.retryBudget
        func untriedLeft(_ tried: [String]) -> Bool { balancer.balancer?.hasEndpoint(outside: tried) ?? false }

        let outcome: Result<HTTPClientResponse, any Error> = await withTaskGroup(of: TryEvent.self) { group in
            /// Picks an instance not tried yet and starts a try on it; `false` when none is left.
            func launch() -> Bool {
                guard let loadBalancer = balancer.balancer,
                    let pick = try? loadBalancer.pick(avoiding: machine.tried)
                else {
                    return false
                }
                machine.started(address: pick.endpoint.address)
                span?.addEvent(SpanEvent(name: "try", attributes: ["server.address": "\(pick.endpoint.address)"]))
                var attempt = request
                attempt.url = "http://\(pick.endpoint.address)\(request.url)"
                if let span, let tracer {
                    var traceFields: [(String, String)] = []
                    tracer.inject(span.context, into: &traceFields, using: TraceFieldsInjector())
                    for (name, value) in traceFields { attempt.headers.replaceOrAdd(name: name, value: value) }
                }
                let perTry = min(options.perTryTimeout, max(deadline - clock.now(), .zero))
                group.addTask { await self.send(attempt, to: pick, perTry: perTry, deadline: deadline) }
                return true
            }
            guard launch() else {
                return .failure(ServiceCallError.noInstances(service: service))
            }
            if retryable, let hedging = options.hedging,
                let delay = latencies.percentile(hedging.percentile, minimumSamples: hedging.minimumSamples)
            {
                let wait = max(delay, hedging.minimumDelay)
                let clock = clock
                group.addTask {
                    do {
                        try await clock.sleep(until: clock.now() + wait)
                        return .hedge
                    } catch {
                        return .hedge  // cancelled: the call ended; the event is ignored
                    }
                }
            }
            /// The last 502 or 503 received, which ends the call if no other instance answers.
            var lastServerError: HTTPClientResponse?
            /// Ends the call with `outcome`: cancels the tries still running and discards
            /// their answers.
            func finish(_ outcome: Result<HTTPClientResponse, any Error>) async -> Result<HTTPClientResponse, any Error>
            {
                group.cancelAll()
                while let event = await group.next() {
                    if case .answered(_, let response, _) = event { Self.discard(response) }
                }
                return outcome
            }
            while let event = await group.next() {
                var action: ServiceCallStateMachine.Action
                switch event {
                case .hedge:
                    if machine.hedgeDue(now: clock.now(), untriedLeft: untriedLeft, withdrawRetry: budget.tryWithdraw),
                        launch()
                    {
                        metrics.hedge(service: service)
                    }
                    continue
                case .answered(let pick, let response, let latency):
                    let address = pick.endpoint.address
                    metrics.response(service: service, instance: address, status: response.status.code)
                    metrics.answered(service: service, instance: address, after: latency)
                    action = machine.answered(
                        address: address, status: Int(response.status.code), now: clock.now(),
                        untriedLeft: untriedLeft, withdrawRetry: budget.tryWithdraw)
                    if action == .returnAnswer {
                        latencies.record(latency)
                        return await finish(.success(response))  // a hedge still running loses
                    }
                    // The instance could not serve it: another may, if the call may be repeated.
                    if let previous = lastServerError { Self.discard(previous) }
                    lastServerError = response
                case .failed(let pick, let kind, let reason):
                    metrics.failure(service: service, instance: pick.endpoint.address)
                    action = machine.failed(
                        address: pick.endpoint.address, timeout: kind == .timeout, reason: reason, now: clock.now(),
                        cancelled: Task.isCancelled, untriedLeft: untriedLeft, withdrawRetry: budget.tryWithdraw)
                }
                if action == .retry {
                    if launch() {
                        metrics.retry(service: service)
                        continue
                    }
                    action = machine.retryNotStarted(now: clock.now(), cancelled: Task.isCancelled)
                }
                switch action {
                case .wait, .retry, .returnAnswer:  // .returnAnswer returned above
                    continue
                case .returnServerError:
                    return await finish(lastServerError.map { .success($0) } ?? .failure(CancellationError()))
                case .fail(.cancelled):
                    return await finish(.failure(CancellationError()))
                case .fail(.timedOut):
                    return await finish(
                        .failure(
                            ServiceCallError.timeout(
                                service: service, after: clock.now() - started, attempts: machine.attempts)))
                case .fail(.allAttemptsFailed):
                    return await finish(
                        .failure(ServiceCallError.allAttemptsFailed(service: service, attempts: machine.attempts)))
                }
            }
            return .failure(CancellationError())
        }
        metrics.call(service: service, duration: clock.now() - started)
        switch outcome {
        case .success(let response):
            span?.updateAttributes { attributes in
                attributes["http.response.status_code"] = Int(response.status.code)
                if machine.tried.count > 1 { attributes["shoal.tries"] = machine.tried.count }
            }
            if response.status.code >= 500 { span?.setStatus(SpanStatus(code: .error)) }
            span?.end()
            return response
        case .failure(let error):
            span?.recordError(error)
            span?.setStatus(SpanStatus(code: .error, message: "\(error)"))
            span?.end()
            throw error
        }
    }

    /// Lets go of an answer that is not returned. Its body, never read, is dropped with it,
    /// and AsyncHTTPClient then cancels the request and closes its connection at once: no
    /// task is left reading a body nobody wants, and the connection is not held until the
    /// deadline.
    static func discard(_ response: consuming HTTPClientResponse) {
        _ = consume response
    }

    /// One try: the answer's head within `perTry`, or why not. Tells the balancer.
    private func send(
        _ request: HTTPClientRequest, to pick: Pick, perTry: Duration, deadline: MonotonicInstant
    ) async -> TryEvent {
        let started = clock.now()
        let http = http
        let clock = clock
        let result: Result<HTTPClientResponse, any Error>? = await withTaskGroup(
            of: Result<HTTPClientResponse, any Error>?.self
        ) { group in
            group.addTask {
                let timeLeft = max(deadline - clock.now(), .zero)
                do {
                    return .success(try await http.execute(request, timeout: .nanoseconds(timeLeft.totalNanoseconds)))
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                try? await clock.sleep(until: started + perTry)
                return nil  // the per-try timeout (or cancellation)
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        let latency = clock.now() - started
        switch result {
        case .success(let response):
            pick.finish(
                response.status.code >= 500
                    ? .failure(.serverError, latency: latency) : .success(latency: latency))
            return .answered(pick, response, latency: latency)
        case .failure(let error):
            if Task.isCancelled {
                pick.finish(.failure(.cancelled, latency: latency))
                return .failed(pick, .cancelled, "cancelled")
            }
            if let error = error as? HTTPClientError, error == .deadlineExceeded {
                pick.finish(.failure(.timeout, latency: latency))
                return .failed(pick, .timeout, "no answer before the call's timeout")
            }
            pick.finish(.failure(.connectFailure, latency: latency))
            return .failed(pick, .connectFailure, "\(error)")
        case .none:
            if Task.isCancelled {
                pick.finish(.failure(.cancelled, latency: latency))
                return .failed(pick, .cancelled, "cancelled")
            }
            pick.finish(.failure(.timeout, latency: latency))
            return .failed(pick, .timeout, "no answer within the per-try timeout of \(perTry)")
        }
    }
}
