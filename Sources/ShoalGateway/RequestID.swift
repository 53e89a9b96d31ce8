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
        return hex(random.next()) + hex(random.next())
    }

    private func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
