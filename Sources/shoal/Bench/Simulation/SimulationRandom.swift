#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// SplitMix64 with the distributions the simulation draws from. Seeded, so runs repeat.
struct SimulationRandom {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
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
