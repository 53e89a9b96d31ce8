import ShoalCore

/// xoshiro256** (Blackman & Vigna): a fast, small-state generator for picking, one per
/// ``BalancerPicker`` so threads never share it. Not for anything secret.
struct FastRandom: RandomNumberGenerator {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// A generator whose sequence is fixed by `seed` (expanded with SplitMix64).
    init(seed: UInt64) {
        var expand = SplitMix64(seed: seed)
        s0 = expand.next()
        s1 = expand.next()
        s2 = expand.next()
        s3 = expand.next()
    }

    @inline(__always)
    mutating func next() -> UInt64 {
        let result = (s1 &* 5).rotatedLeft(by: 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3.rotatedLeft(by: 45)
        return result
    }

    /// A value in `0 ..< bound` (Lemire's multiply-shift; the bias is below 2⁻³²).
    @inline(__always)
    mutating func index(below bound: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// A value in [0, 1).
    @inline(__always)
    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }
}

extension UInt64 {
    @inline(__always)
    fileprivate func rotatedLeft(by count: UInt64) -> UInt64 {
        (self << count) | (self >> (64 - count))
    }
}
