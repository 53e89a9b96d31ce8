import ShoalBalancing
import ShoalCore

/// Endpoints `10.0.0.i:8080`, with the given weights (1 when omitted).
func endpoints(_ count: Int, weights: [Double]? = nil) -> [Endpoint] {
    (0..<count).map { try! Endpoint(host: "10.0.0.\($0)", port: 8080, weight: weights?[$0] ?? 1) }
}

extension BalancerPicker {
    /// Picks `count` times, finishing each at once with `outcome`, and counts picks by index.
    func counts(_ count: Int, of endpointCount: Int, outcome: PickOutcome = .success(latency: .milliseconds(1)))
        throws -> [Int]
    {
        var counts = [Int](repeating: 0, count: endpointCount)
        for _ in 0..<count {
            let pick = try pick()
            counts[pick.index] += 1
            pick.finish(outcome)
        }
        return counts
    }
}

let ok = PickOutcome.success(latency: .milliseconds(5))
let serverError = PickOutcome.failure(.serverError, latency: .milliseconds(1))
