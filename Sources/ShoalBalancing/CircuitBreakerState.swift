/// The circuit breaker's logic as a value: events in, decisions out, no clock and no lock,
/// so every transition is tested directly. ``CircuitBreaker`` wraps it for concurrent use.
///
/// - **closed**: requests flow; outcomes are counted in a rolling window of
///   `bucketCount` buckets. When the window holds at least `minimumRequests` and the failure
///   rate reaches `failureRateThreshold`, the breaker opens.
/// - **open**: nothing is allowed until `openDuration` has passed; then it is half-open.
/// - **half-open**: at most `halfOpenProbes` trial requests are allowed at once. That many
///   successes close the breaker (with an empty window); one failure opens it again.
public struct CircuitBreakerState: Sendable, Hashable {
    /// Where the breaker is.
    public enum Phase: Sendable, Hashable {
        case closed
        case open(until: Int64)
        case halfOpen
    }

    /// What one allowed request holds: a probe slot of one half-open spell, or nothing.
    /// Its answer or its abandonment counts for that spell only, so a request sent before
    /// the breaker opened, or a probe of an earlier spell, cannot free or fill a slot of the
    /// spell in progress.
    public struct Permit: Sendable, Hashable {
        /// The half-open spell whose probe slot the request holds; `nil` for none (it was
        /// allowed while the breaker was closed).
        public let probeSpell: Int?

        /// A request allowed while the breaker was closed: it holds no probe slot.
        public static let unreserved = Permit(probeSpell: nil)
    }

    public private(set) var phase: Phase = .closed
    /// Counts the spells of half-open, to tell one spell's probes from another's.
    private var spell = 0
    private var successes: [Int]
    private var failures: [Int]
    private var bucketEpochs: [Int64]
    private var probesInFlight = 0
    private var probeSuccesses = 0
    let configuration: CircuitBreaker.Configuration

    public init(configuration: CircuitBreaker.Configuration) {
        self.configuration = configuration
        let count = max(1, configuration.bucketCount)
        successes = Array(repeating: 0, count: count)
        failures = Array(repeating: 0, count: count)
        bucketEpochs = Array(repeating: Int64.min, count: count)
    }

    private var bucketNanoseconds: Int64 {
        max(1, configuration.window.totalNanoseconds / Int64(successes.count))
    }

    /// Whether a request could be sent at `now` (nanoseconds), without reserving anything:
    /// for judging candidates. Send only after ``allowsRequest(at:)``.
    public func permitsRequest(at now: Int64) -> Bool {
        switch phase {
        case .closed: true
        case .open(let until): now >= until
        case .halfOpen: probesInFlight < configuration.halfOpenProbes
        }
    }

    /// Whether a request may be sent at `now` (nanoseconds). A `true` in half-open reserves
    /// one of the probe slots, released by the next ``record(success:at:)``. Prefer
    /// ``permit(at:)``, whose answer tells the request's outcome apart from the probes'.
    public mutating func allowsRequest(at now: Int64) -> Bool {
        permit(at: now) != nil
    }

    /// A permit for a request at `now` (nanoseconds), or `nil` when none may be sent. In
    /// half-open it reserves a probe slot of the spell in progress; pass it to
    /// ``record(success:at:permit:)`` or ``abandon(_:)`` when the request ends.
    public mutating func permit(at now: Int64) -> Permit? {
        switch phase {
        case .closed:
            return .unreserved
        case .open(let until):
            guard now >= until else { return nil }
            phase = .halfOpen
            spell += 1
            probesInFlight = 0
            probeSuccesses = 0
            return reserveProbe()
        case .halfOpen:
            return reserveProbe()
        }
    }

    private mutating func reserveProbe() -> Permit? {
        guard probesInFlight < configuration.halfOpenProbes else { return nil }
        probesInFlight += 1
        return Permit(probeSpell: spell)
    }

    /// Records the outcome, observed at `now` (nanoseconds), of the request that `permit`
    /// allowed. In half-open only the spell's own probes count; the answer of a request sent
    /// before (while closed, or in an earlier spell) says nothing about the instance now.
    public mutating func record(success: Bool, at now: Int64, permit: Permit) {
        if phase == .halfOpen && permit.probeSpell != spell { return }
        record(success: success, at: now)
    }

    /// Records an outcome observed at `now` (nanoseconds).
    public mutating func record(success: Bool, at now: Int64) {
        switch phase {
        case .closed:
            let epoch = now / bucketNanoseconds
            let slot = Int(epoch % Int64(successes.count))
            if bucketEpochs[slot] != epoch {
                bucketEpochs[slot] = epoch
                successes[slot] = 0
                failures[slot] = 0
            }
            if success { successes[slot] += 1 } else { failures[slot] += 1 }
            let oldest = epoch - Int64(successes.count) + 1
            var total = 0
            var failed = 0
            for index in successes.indices where bucketEpochs[index] >= oldest {
                total += successes[index] + failures[index]
                failed += failures[index]
            }
            if total >= configuration.minimumRequests
                && Double(failed) >= configuration.failureRateThreshold * Double(total)
            {
                open(at: now)
            }
        case .open:
            break  // an answer to a request sent before the breaker opened
        case .halfOpen:
            probesInFlight = max(0, probesInFlight - 1)
            if success {
                probeSuccesses += 1
                if probeSuccesses >= configuration.halfOpenProbes {
                    close()
                }
            } else {
                open(at: now)
            }
        }
    }

    /// Gives back the probe slot `permit` holds, if it holds one of the spell in progress,
    /// for a request that ended without an answer (cancelled by its caller); counts neither a
    /// success nor a failure, since the endpoint was never judged.
    public mutating func abandon(_ permit: Permit) {
        if phase == .halfOpen && permit.probeSpell == spell {
            probesInFlight = max(0, probesInFlight - 1)
        }
    }

    private mutating func open(at now: Int64) {
        phase = .open(until: now &+ configuration.openDuration.totalNanoseconds)
    }

    private mutating func close() {
        phase = .closed
        for index in bucketEpochs.indices {
            bucketEpochs[index] = .min
        }
    }
}
