/// How a ``LoadBalancer`` chooses among eligible endpoints.
///
/// | strategy | chooses | learns from outcomes |
/// |---|---|---|
/// | ``roundRobin`` | the next endpoint in turn | no |
/// | ``weightedRoundRobin`` | nginx's smooth weighted round robin | no |
/// | ``random`` | uniformly | no |
/// | ``weightedRandom`` | in proportion to weight | no |
/// | ``leastRequest(activeRequestBias:)`` | the better of two random endpoints by in-flight requests | in-flight counts |
/// | ``peakEWMA(decay:)`` | the better of two by latency × (in-flight + 1) | latency and in-flight |
/// | ``hotCold(decay:)`` | among up to four not holding twice their share, the fewest in flight of those near the lowest latency | latency and in-flight |
/// | ``ringHash(boundedLoad:)``, ``maglev(boundedLoad:)`` | by a request key, stickily | no |
///
/// The article "Choosing a balancing strategy" compares them in simulation.
public enum BalancingStrategy: Sendable, Hashable {
    /// Each endpoint in turn, skipping ineligible ones. Each ``BalancerPicker`` keeps its own
    /// turn, as each Envoy worker does.
    case roundRobin
    /// nginx's smooth weighted round robin: an endpoint of weight 5 among weights 5, 1, 1 is
    /// picked 5 times in 7, spread out (`a a b a c a a`), never in a burst.
    case weightedRoundRobin
    /// A uniformly random eligible endpoint.
    case random
    /// A random eligible endpoint, in proportion to its (slow-start adjusted) weight.
    case weightedRandom
    /// Power of two choices on in-flight requests (Envoy's least request). With unequal
    /// weights each candidate scores `weight / (inFlight + 1)^activeRequestBias` and the
    /// higher score wins; with equal weights, the one with fewer requests in flight.
    case leastRequest(activeRequestBias: Double = 1)
    /// Power of two choices on cost = peak-sensitive EWMA of latency × (in-flight + 1), divided
    /// by weight (Finagle's and Linkerd's Peak EWMA). Latency rises at once to a new peak and
    /// decays towards newer observations with time constant `decay`. An endpoint with no
    /// observations costs nothing, so new endpoints are tried.
    case peakEWMA(decay: Duration = .seconds(10))
    /// Prequal's hot-cold lexicographic rule on what the balancer sees: among up to four
    /// candidates (every endpoint when there are four or fewer), those holding twice their
    /// share of requests in flight are hot; among the others, those within a quarter of the
    /// lowest latency (Peak EWMA, with time constant `decay`) are near-best, and the one of them
    /// with the fewest requests in flight, per weight, wins. When all are hot, the fewest in
    /// flight wins. The default strategy of gateway routes, `ServiceClient` and the gRPC
    /// transport.
    ///
    /// The latency estimate decays only while an endpoint is idle, so a slow endpoint left
    /// alone is tried again with one request after `decay` × ln(its slowness) or so (about 2 s
    /// for a 10× slower one with the default 1 s), then after twice as long each time it is
    /// still slow, up to 16×; an endpoint that was slow once, as on its first request, is not
    /// passed over for long.
    case hotCold(decay: Duration = .seconds(1))
    /// Consistent hashing of the request key on a ``ShoalHashing/Ring64`` of the endpoints'
    /// addresses, weighted. With `boundedLoad` c ≥ 1, no endpoint takes more than c × the mean
    /// of the requests in flight (consistent hashing with bounded loads). Without a key it
    /// falls back to least request.
    case ringHash(boundedLoad: Double? = nil)
    /// Like ``ringHash(boundedLoad:)`` on a ``ShoalHashing/MaglevTable``: faster and evener,
    /// with a little more movement when endpoints change.
    case maglev(boundedLoad: Double? = nil)

    /// The name used by `shoal` and in reports.
    public var name: String {
        switch self {
        case .roundRobin: "roundRobin"
        case .weightedRoundRobin: "weightedRoundRobin"
        case .random: "random"
        case .weightedRandom: "weightedRandom"
        case .leastRequest: "leastRequest"
        case .peakEWMA: "peakEWMA"
        case .hotCold: "hotCold"
        case .ringHash: "ringHash"
        case .maglev: "maglev"
        }
    }

    /// The strategy used when none is given: ``hotCold(decay:)`` with its default decay.
    public static let standard: BalancingStrategy = .hotCold()

    /// Every strategy with its default settings.
    public static let allDefaults: [BalancingStrategy] = [
        .roundRobin, .weightedRoundRobin, .random, .weightedRandom, .leastRequest(), .peakEWMA(),
        .hotCold(), .ringHash(), .maglev(),
    ]

    /// The strategy with default settings named `name`, if any.
    public init?(name: String) {
        guard let match = Self.allDefaults.first(where: { $0.name == name }) else { return nil }
        self = match
    }
}
