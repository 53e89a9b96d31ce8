import ShoalCore
import ShoalHashing

/// Picks endpoints for one thread or event loop. Make one per thread with
/// ``LoadBalancer/makePicker(seed:)``; it is not `Sendable` and must not be shared.
///
/// A picker keeps the balancer's current endpoint set, noticing updates with one atomic read
/// per pick, and its own random generator and round-robin position. Statistics (in-flight
/// counts, latency, ejections) are the balancer's and shared by all pickers.
public final class BalancerPicker {
    // A picker's fields change on every pick; the padding keeps two threads' pickers (often
    // allocated side by side) off each other's cache lines.
    private let paddingBefore = CacheLinePadding()
    let balancer: LoadBalancer
    /// `balancer`, read on every pick without touching its shared reference count.
    private let unmanagedBalancer: Unmanaged<LoadBalancer>
    /// The generation of `handle`'s snapshot.
    @exclusivity(unchecked) private var generation: Int
    /// This picker's reference to the current snapshot; picks retain it.
    @exclusivity(unchecked) var handle: SnapshotHandle
    var snapshot: EndpointSnapshot { handle.snapshot }
    // A picker is used by one thread (it is not Sendable), so the dynamic exclusivity checks
    // Swift adds to class properties can only cost time here, never catch a conflict.
    @exclusivity(unchecked) var random: FastRandom
    @exclusivity(unchecked) var cursor: Int
    /// Smooth weighted round robin's running weights, per endpoint.
    @exclusivity(unchecked) var smoothWeights: [Double]
    private let paddingAfter = CacheLinePadding()

    init(balancer: LoadBalancer, seed: UInt64) {
        self.balancer = balancer
        unmanagedBalancer = Unmanaged.passUnretained(balancer)
        let snapshot = balancer.snapshot
        generation = snapshot.generation
        handle = SnapshotHandle(snapshot)
        var random = FastRandom(seed: seed)
        cursor = random.index(below: max(snapshot.count, 1))
        self.random = random
        smoothWeights = Array(repeating: 0, count: snapshot.count)
    }

    /// Picks an endpoint for a request.
    ///
    /// - Parameter key: the request key for ``BalancingStrategy/ringHash(boundedLoad:)`` and
    ///   ``BalancingStrategy/maglev(boundedLoad:)`` (a header, cookie or path); other
    ///   strategies ignore it.
    /// - Throws: ``BalancerError`` with code ``BalancerError/Code/noEligibleEndpoint`` when
    ///   nothing can be picked.
    public func pick(key: String? = nil) throws(BalancerError) -> Pick {
        if let key {
            return try withUTF8(key) { (bytes) throws(BalancerError) in try pick(keyBytes: bytes) }
        }
        return try pick(keyBytes: nil)
    }

    /// Whether a pick avoiding `addresses` (those a request has tried) could choose an
    /// endpoint now: one not among them that is eligible — healthy, not ejected, its breaker
    /// not open (in panic mode, any whose breaker is not open). ``RetryRule``'s `untriedLeft`:
    /// a retry that could only fail to pick takes nothing from the budget.
    public func hasEndpoint(outside addresses: [String]) -> Bool {
        refreshIfNeeded()
        let handle = handle
        // The picker's handle keeps the snapshot alive while the context reads it.
        var context = PickContext(snapshot: handle.unmanaged)
        context.readmitIfDue()
        let names = handle.snapshot.addresses
        for index in 0..<context.count where !addresses.contains(names[index]) {
            if context.isEligible(index) { return true }
        }
        return false
    }

    /// Picks an endpoint other than those at `addresses`: for a retry, which should go to an
    /// endpoint not tried yet. The strategy chooses among the rest as usual.
    ///
    /// - Throws: ``BalancerError`` with code ``BalancerError/Code/noEligibleEndpoint`` when
    ///   every eligible endpoint is among `addresses`.
    public func pick(key: String? = nil, avoiding addresses: [String]) throws(BalancerError) -> Pick {
        refreshIfNeeded()
        let endpoints = snapshot.endpoints
        let excluded = endpoints.indices.filter { addresses.contains(endpoints[$0].address) }
        if let key {
            return try withUTF8(key) { (bytes) throws(BalancerError) in try pick(keyBytes: bytes, excluding: excluded) }
        }
        return try pick(keyBytes: nil, excluding: excluded)
    }

    /// Picks an endpoint, with the request key as bytes.
    public func pick(keyBytes key: UnsafeRawBufferPointer?) throws(BalancerError) -> Pick {
        try pick(keyBytes: key, excluding: [])
    }

    private func pick(keyBytes key: UnsafeRawBufferPointer?, excluding excluded: [Int]) throws(BalancerError) -> Pick {
        refreshIfNeeded()
        let handle = handle
        // The picker's handle keeps the snapshot, and through it the core, alive for the pick.
        var context = PickContext(snapshot: handle.unmanaged)
        context.excluded = excluded
        guard context.count > 0 else { throw BalancerError.nothingEligible }
        context.readmitIfDue()
        var assignment: BoundedLoadPlacement.Assignment?
        var index = -1
        var permit = CircuitBreakerState.Permit.unreserved
        // A circuit breaker can change between judging a candidate and sending to it (another
        // thread took the last half-open probe): then choose again, a few times at most.
        for _ in 0..<4 {
            (index, assignment) = try choose(&context, key: key)
            if !context.breakers { break }
            let granted = context.withStats(index) { stats -> CircuitBreakerState.Permit? in
                guard let breaker = stats.breaker else { return .unreserved }
                return breaker.permit()
            }
            if let granted {
                permit = granted
                break
            }
            if let assignment {
                context.unmanagedSnapshot.withInstance { $0.bounded?.release(assignment) }
            }
            index = -1
        }
        guard index >= 0 else { throw BalancerError.nothingEligible }
        context.withStats(index) { _ = $0.inFlight.wrappingAdd(1, ordering: .relaxed) }
        let pickedAt: Int64? =
            switch context.strategy {
            case .peakEWMA, .hotCold: context.now()
            default: nil
            }
        return Pick(handle: handle, index: index, assignment: assignment, pickedAt: pickedAt, permit: permit)
    }

    /// The strategy's choice for this pick.
    @inline(__always)
    private func choose(
        _ context: inout PickContext, key: UnsafeRawBufferPointer?
    ) throws(BalancerError) -> (Int, BoundedLoadPlacement.Assignment?) {
        switch context.strategy {
        case .roundRobin:
            return (try nextInTurn(&context), nil)
        case .weightedRoundRobin:
            return (try smoothWeighted(&context), nil)
        case .random:
            return (try uniform(&context), nil)
        case .weightedRandom:
            return (try weightedRandom(&context), nil)
        case .leastRequest(let bias):
            return (try leastRequest(&context, bias: bias), nil)
        case .peakEWMA:
            return (try peakEWMA(&context), nil)
        case .hotCold:
            return (try hotCold(&context), nil)
        case .ringHash, .maglev:
            guard let key else { return (try leastRequest(&context, bias: 1), nil) }
            return try sticky(&context, key: key)
        }
    }

    @inline(__always)
    func refreshIfNeeded() {
        let latest = unmanagedBalancer.withInstance { $0.generation.load(ordering: .acquiring) }
        if latest != generation {
            handle = SnapshotHandle(balancer.snapshot)
            generation = handle.snapshot.generation
            smoothWeights = Array(repeating: 0, count: snapshot.count)
            cursor = snapshot.count > 0 ? cursor % snapshot.count : 0
        }
    }
}

/// Calls `body` with the UTF-8 bytes of `string`, without copying a native string.
@inline(__always)
func withUTF8<R>(_ string: String, _ body: (UnsafeRawBufferPointer) throws(BalancerError) -> R) throws(BalancerError)
    -> R
{
    var string = string
    let result: Result<R, BalancerError> = string.withUTF8 { buffer in
        do throws(BalancerError) {
            return .success(try body(UnsafeRawBufferPointer(buffer)))
        } catch {
            return .failure(error)
        }
    }
    return try result.get()
}
