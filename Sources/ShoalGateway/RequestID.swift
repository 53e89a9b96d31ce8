import NIOCore
import ShoalCore

/// A request's `X-Request-Id`: the client's own, or 128 random bits, which are written as 32
/// hex digits straight into the heads that carry them; a string is made only when one is
/// asked for (an error answer, the access log, a span).
struct RequestID: ExpressibleByStringLiteral, CustomStringConvertible {
    private enum Storage {
        case given(String)
        case random(UInt64, UInt64)
    }

    private let storage: Storage

    /// The id the client sent.
    init(_ given: String) {
        storage = .given(given)
    }

    init(stringLiteral value: String) {
        self.init(value)
    }

    /// An id of 128 random bits.
    init(high: UInt64, low: UInt64) {
        storage = .random(high, low)
    }

    /// Writes the id's characters.
    func write(to buffer: inout ByteBuffer) {
        switch storage {
        case .given(let given):
            buffer.writeString(given)
        case .random(let high, let low):
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 32) { bytes in
                Self.writeHex(high, low, to: UnsafeMutableRawBufferPointer(rebasing: bytes[0..<32]))
                return 32
            }
        }
    }

    var description: String {
        switch storage {
        case .given(let given):
            given
        case .random(let high, let low):
            String(unsafeUninitializedCapacity: 32) { buffer in
                Self.writeHex(high, low, to: UnsafeMutableRawBufferPointer(buffer))
                return 32
            }
        }
    }

    private static func writeHex(_ high: UInt64, _ low: UInt64, to bytes: UnsafeMutableRawBufferPointer) {
        let digits: StaticString = "0123456789abcdef"
        digits.withUTF8Buffer { digits in
            for index in 0..<32 {
                let word = index < 16 ? high : low
                let nibble = Int((word >> UInt64(60 - 4 * (index % 16))) & 0xF)
                bytes[index] = digits[nibble]
            }
        }
    }
}

/// `X-Request-Id`: the client's, if it sent a usable one, else 128 random bits.
struct RequestIDGenerator {
    private var random: SplitMix64

    init(seed: UInt64) {
        random = SplitMix64(seed: seed)
    }

    /// The id for a request that carried `given` (the header's value, if any). A given id is
    /// used when it is 1 to 128 visible ASCII characters.
    mutating func id(given: String?) -> RequestID {
        if let given, (1...128).contains(given.utf8.count), given.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) {
            return RequestID(given)
        }
        return RequestID(high: random.next(), low: random.next())
    }
}
