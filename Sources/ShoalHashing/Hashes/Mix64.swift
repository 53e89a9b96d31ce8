/// Small, stable 64-bit mixing functions used to derive many well-spread values from one hash.
enum Mix64 {
    /// The SplitMix64 finalizer (Steele, Lea & Flood): a bijection on `UInt64` with full
    /// avalanche, so every input bit affects every output bit.
    @inline(__always)
    static func splitMix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The `index`-th value of the SplitMix64 sequence that starts at `seed`.
    @inline(__always)
    static func sequence(seed: UInt64, index: Int) -> UInt64 {
        splitMix(seed &+ UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// A value in `0 ..< bound` from a well-mixed 64-bit hash, without a division
    /// (Lemire's multiply-shift range reduction).
    @inline(__always)
    static func reduce(_ hash: UInt64, into bound: Int) -> Int {
        Int(truncatingIfNeeded: hash.multipliedFullWidth(by: UInt64(bound)).high)
    }
}
