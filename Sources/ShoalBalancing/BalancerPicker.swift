import ShoalCore
import ShoalHashing

/// Picks endpoints for one thread or event loop. Make one per thread with
/// ``LoadBalancer/makePicker(seed:)``; it is not `Sendable` and must not be shared.
///
/// A picker keeps the balancer's current endpoint set, noticing updates with one atomic read
/// per pick, and its own random generator and round-robin position. Statistics (in-flight
/// counts, latency, ejections) are the balancer's and shared by all pickers.
public final class BalancerPicker {
    let balancer: LoadBalancer
    var snapshot: EndpointSnapshot
    var random: FastRandom
    var cursor: Int
    /// Smooth weighted round robin's running weights, per endpoint.
    var smoothWeights: [Double]

    init(balancer: LoadBalancer, seed: UInt64) {
        self.balancer = balancer
        snapshot = balancer.snapshot
        random = FastRandom(seed: seed)
        cursor = random.index(below: max(snapshot.count, 1))
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

    /// Picks an endpoint, with the request key as bytes.
    public func pick(keyBytes key: UnsafeRawBufferPointer?) throws(BalancerError) -> Pick {
        refreshIfNeeded()
        let snapshot = snapshot
        guard snapshot.count > 0 else { throw BalancerError.nothingEligible }
        var context = PickContext(core: snapshot.core, snapshot: snapshot)
        context.readmitIfDue()
        var assignment: BoundedLoadPlacement.Assignment?
        let index: Int
        switch snapshot.core.strategy {
        case .roundRobin:
            index = try nextInTurn(&context)
        case .weightedRoundRobin:
            index = try smoothWeighted(&context)
        case .random:
            index = try uniform(&context)
        case .weightedRandom:
            index = try weightedRandom(&context)
        case .leastRequest(let bias):
            index = try leastRequest(&context, bias: bias)
        case .peakEWMA:
            index = try peakEWMA(&context)
        case .ringHash, .maglev:
            if let key {
                (index, assignment) = try sticky(&context, key: key)
            } else {
                index = try leastRequest(&context, bias: 1)
            }
        }
        snapshot.stats[index].inFlight.add(1, ordering: .relaxed)
        return Pick(snapshot: snapshot, index: index, assignment: assignment)
    }

    @inline(__always)
    func refreshIfNeeded() {
        if balancer.generation.load(ordering: .acquiring) != snapshot.generation {
            snapshot = balancer.snapshot
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
