import ShoalCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The distributions the simulation draws from, over a seeded SplitMix64, so runs repeat.
struct SimulationRandom {
    private var generator: SplitMix64

    init(seed: UInt64) {
        generator = SplitMix64(seed: seed)
    }

    mutating func next() -> UInt64 {
        generator.next()
    }

    /// Uniform in (0, 1).
    mutating func unit() -> Double {
        (Double(next() >> 11) + 0.5) * 0x1p-53
    }

    /// Exponential with the given mean (Poisson inter-arrival times).
    mutating func exponential(mean: Double) -> Double {
        -mean * log(unit())
    }

    /// Log-normal with the given median and shape σ (Box–Muller for the normal).
    mutating func logNormal(median: Double, sigma: Double) -> Double {
        let normal = (-2 * log(unit())).squareRoot() * cos(2 * Double.pi * unit())
        return median * exp(sigma * normal)
    }
}
