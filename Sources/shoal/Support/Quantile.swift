/// The nearest-rank `q` quantile (0 < q ≤ 1) of `sorted`, which is in ascending order; 0
/// when it is empty. What the benchmarks and the demo report as p50 and p99.
func nearestRankQuantile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))]
}
