extension BenchBalanceCommand {
    /// The backends that --backends, --median, --sigma and --concurrency describe.
    func backendModel() throws(UsageError) -> BackendModel {
        guard (2...1_000).contains(backends) else {
            throw UsageError("--backends must be in 2...1000, not \(backends)")
        }
        guard median.isFinite, median > 0, median <= 60_000 else {
            throw UsageError("--median must be a number of milliseconds in (0, 60000], not \(median)")
        }
        guard sigma.isFinite, (0...3).contains(sigma) else {
            throw UsageError("--sigma must be in 0...3, not \(sigma)")
        }
        guard (1...100_000).contains(concurrency) else {
            throw UsageError("--concurrency must be in 1...100000, not \(concurrency)")
        }
        return BackendModel(count: backends, median: median / 1e3, sigma: sigma, concurrency: concurrency)
    }

    /// Checks --connections, --overhead, the stalls and --wrk-correction, and that a closed loop stays
    /// within 10 million requests.
    func validateLoop() throws(UsageError) {
        guard overhead.isFinite, overhead >= 0, overhead <= 60_000 else {
            throw UsageError("--overhead must be a number of milliseconds in [0, 60000], not \(overhead)")
        }
        guard stallProbability.isFinite, (0...1).contains(stallProbability) else {
            throw UsageError("--stall-probability must be in 0...1, not \(stallProbability)")
        }
        guard stallMean.isFinite, stallMean >= 0, stallMean <= 60_000 else {
            throw UsageError("--stall-mean must be a number of milliseconds in [0, 60000], not \(stallMean)")
        }
        guard let connections else {
            if wrkCorrection { throw UsageError("--wrk-correction needs --connections: it corrects a closed loop") }
            return
        }
        guard (1...10_000).contains(connections) else {
            throw UsageError("--connections must be in 1...10000, not \(connections)")
        }
        // Each connection answers at most one request per service time (less with σ, but not by much).
        let requests = Double(connections) * duration / ((median + overhead) / 1e3)
        guard requests <= 10_000_000 else {
            throw UsageError(
                "--connections \(connections) for \(duration) s at \(median) ms a request would simulate about \(Int(requests)) requests; keep it within 10 million"
            )
        }
    }
}
