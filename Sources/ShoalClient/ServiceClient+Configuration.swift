import ShoalBalancing

extension ServiceClient {
    /// How a ``ServiceClient`` balances, and the call options it uses unless a call gives
    /// its own.
    public struct Configuration: Sendable {
        /// How instances are picked. Default ``ShoalBalancing/BalancingStrategy/standard``
        /// (hot-cold): it learns each instance's latency from every answer, so a slow instance
        /// gets almost no calls while the others are not overloaded.
        public var strategy: BalancingStrategy
        /// Outlier ejection and the circuit breaker per instance (on by default).
        public var balancer: BalancerConfiguration
        /// The options of a call that gives none.
        public var defaultOptions: CallOptions

        public init(
            strategy: BalancingStrategy = .standard,
            balancer: BalancerConfiguration = BalancerConfiguration(circuitBreaker: CircuitBreaker.Configuration()),
            defaultOptions: CallOptions = CallOptions()
        ) {
            self.strategy = strategy
            self.balancer = balancer
            self.defaultOptions = defaultOptions
        }
    }

    /// Timeouts, retries and hedging for one call.
    ///
    /// Retries and hedges go to an instance not tried yet, only for idempotent methods (GET,
    /// HEAD, OPTIONS, TRACE, PUT, DELETE) without a body, and only while the service's retry
    /// budget allows (a share of calls, as Finagle and Linkerd do), so retries cannot
    /// multiply load on a struggling service.
    public struct CallOptions: Sendable, Hashable {
        /// The longest a try may wait for the answer's head before another try starts.
        /// Default 5 s.
        public var perTryTimeout: Duration
        /// The longest the whole call may take, the answer's body included. Default 15 s.
        public var timeout: Duration
        /// Tries after the first. Default 2.
        public var retries: Int
        /// A second try to another instance when the first has not answered after the
        /// service's recent latency percentile. `nil` (the default) turns hedging off.
        public var hedging: Hedging?

        public init(
            perTryTimeout: Duration = .seconds(5), timeout: Duration = .seconds(15), retries: Int = 2,
            hedging: Hedging? = nil
        ) {
            self.perTryTimeout = perTryTimeout
            self.timeout = timeout
            self.retries = retries
            self.hedging = hedging
        }
    }

    /// When to send a hedged second try.
    public struct Hedging: Sendable, Hashable {
        /// The percentile of recent answer times after which the hedge goes. Default 0.95.
        public var percentile: Double
        /// The shortest wait before a hedge. Default 1 ms.
        public var minimumDelay: Duration
        /// Answers to see before hedging at all (too few say nothing of the tail). Default 20.
        public var minimumSamples: Int

        public init(percentile: Double = 0.95, minimumDelay: Duration = .milliseconds(1), minimumSamples: Int = 20) {
            self.percentile = percentile
            self.minimumDelay = minimumDelay
            self.minimumSamples = minimumSamples
        }
    }
}
