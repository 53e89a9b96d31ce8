/// How a ``LoadBalancer`` judges endpoint health. The defaults follow Envoy's.
///
/// ```swift
/// var configuration = BalancerConfiguration()
/// configuration.outlierDetection?.consecutiveFailures = 3
/// configuration.slowStart = .init(window: .seconds(30))
/// configuration.circuitBreaker = .init()
/// ```
public struct BalancerConfiguration: Sendable, Hashable {
    /// Passive health: eject endpoints after consecutive failures. `nil` turns it off.
    public var outlierDetection: OutlierDetection?
    /// When fewer than this share of endpoints is healthy (not ejected, not failing active
    /// checks), balance over all of them, as Envoy does: better to spread load over sick
    /// endpoints than to crush the few healthy ones. `0` turns panic mode off. Default 0.5.
    public var panicThreshold: Double
    /// Ramp new and re-admitted endpoints up over a window. `nil` (the default) turns it off.
    public var slowStart: SlowStart?
    /// A circuit breaker per endpoint on its failure rate. `nil` (the default) turns it off.
    public var circuitBreaker: CircuitBreaker.Configuration?

    public init(
        outlierDetection: OutlierDetection? = OutlierDetection(), panicThreshold: Double = 0.5,
        slowStart: SlowStart? = nil, circuitBreaker: CircuitBreaker.Configuration? = nil
    ) {
        self.outlierDetection = outlierDetection
        self.panicThreshold = panicThreshold
        self.slowStart = slowStart
        self.circuitBreaker = circuitBreaker
    }

    /// Passive outlier detection on consecutive failures.
    public struct OutlierDetection: Sendable, Hashable {
        /// Failures in a row (5xx, connect failures, timeouts) that eject an endpoint. Default 5.
        public var consecutiveFailures: Int
        /// The first ejection's length; the n-th ejection in a row lasts n × this. Default 30 s.
        public var baseEjectionTime: Duration
        /// The longest ejection. An endpoint that stays healthy this long after an ejection
        /// starts counting from one again. Default 300 s.
        public var maxEjectionTime: Duration
        /// The largest share of endpoints ejected at once. One endpoint can always be ejected
        /// when none is. Default 0.1.
        public var maxEjectedFraction: Double

        public init(
            consecutiveFailures: Int = 5, baseEjectionTime: Duration = .seconds(30),
            maxEjectionTime: Duration = .seconds(300), maxEjectedFraction: Double = 0.1
        ) {
            self.consecutiveFailures = consecutiveFailures
            self.baseEjectionTime = baseEjectionTime
            self.maxEjectionTime = maxEjectionTime
            self.maxEjectedFraction = maxEjectedFraction
        }

        /// How long the `count`-th ejection in a row lasts.
        public func ejectionTime(forCount count: Int) -> Duration {
            min(baseEjectionTime * max(count, 1), maxEjectionTime)
        }
    }

    /// Envoy's slow start: during `window` after an endpoint joins or is re-admitted, its
    /// weight is scaled by `max(minimumWeightFraction, (max(t, 1 s) / window)^(1 / aggression))`.
    public struct SlowStart: Sendable, Hashable {
        /// How long the ramp lasts. Default 30 s.
        public var window: Duration
        /// 1 ramps linearly; larger values ramp faster at first. Default 1.
        public var aggression: Double
        /// The smallest share of its weight an endpoint gets while ramping. Default 0.1.
        public var minimumWeightFraction: Double

        public init(window: Duration = .seconds(30), aggression: Double = 1, minimumWeightFraction: Double = 0.1) {
            self.window = window
            self.aggression = aggression
            self.minimumWeightFraction = minimumWeightFraction
        }

        /// The weight factor `elapsed` after the endpoint joined or came back.
        public func factor(elapsed: Duration) -> Double {
            guard elapsed < window else { return 1 }
            let time = max(elapsed.seconds, 1) / window.seconds
            let ramp = aggression == 1 ? time : power(time, 1 / aggression)
            return min(1, max(minimumWeightFraction, ramp))
        }
    }
}
