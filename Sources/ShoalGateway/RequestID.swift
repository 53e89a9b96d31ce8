import ShoalCore

/// `X-Request-Id`: the client's, if it sent a usable one, else 128 random bits in hex.
struct RequestIDGenerator {
    private var random: SplitMix64

    init(seed: UInt64) {
        random = SplitMix64(seed: seed)
    }

    /// The id for a request that carried `given` (the header's value, if any). A given id is
    /// used when it is 1 to 128 visible ASCII characters.
    mutating func id(given: String?) -> String {
        if let given, (1...128).contains(given.utf8.count), given.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) {
            return given
        }
        let (high, low) = (random.next(), random.next())
        // Written in place: one allocation, where formatting each half costs several.
        return String(unsafeUninitializedCapacity: 32) { buffer in
            for index in 0..<32 {
                let word = index < 16 ? high : low
                let nibble = Int((word >> UInt64(60 - 4 * (index % 16))) & 0xF)
                buffer[index] = Self.hexDigits[nibble]
            }
            return 32
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}
