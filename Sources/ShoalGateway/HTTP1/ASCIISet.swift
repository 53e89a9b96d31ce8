/// A set of bytes as a 256-bit map: membership is two shifts and a mask, for the byte loops
/// of the HTTP/1 parser.
struct ASCIISet: Sendable {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    init(_ ranges: [ClosedRange<UInt8>]) {
        for range in ranges {
            for byte in range { insert(byte) }
        }
    }

    init(_ characters: String) {
        for byte in characters.utf8 { insert(byte) }
    }

    private mutating func insert(_ byte: UInt8) {
        let bit = UInt64(1) << UInt64(byte & 63)
        switch byte >> 6 {
        case 0: words.0 |= bit
        case 1: words.1 |= bit
        case 2: words.2 |= bit
        default: words.3 |= bit
        }
    }

    @inline(__always)
    func contains(_ byte: UInt8) -> Bool {
        let word: UInt64
        switch byte >> 6 {
        case 0: word = words.0
        case 1: word = words.1
        case 2: word = words.2
        default: word = words.3
        }
        return word & (UInt64(1) << UInt64(byte & 63)) != 0
    }

    func union(_ other: ASCIISet) -> ASCIISet {
        var union = self
        union.words = (
            words.0 | other.words.0, words.1 | other.words.1, words.2 | other.words.2, words.3 | other.words.3
        )
        return union
    }

    /// `tchar` of RFC 9110 §5.6.2: the bytes of a method or a field name.
    static let token = ASCIISet([
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "A")...UInt8(ascii: "Z"),
    ]).union(ASCIISet("!#$%&'*+-.^_`|~"))
    /// `unreserved` of RFC 3986 §2.3: the bytes a URI may hold percent-encoded or not, with
    /// the same meaning.
    static let unreserved = ASCIISet([
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "A")...UInt8(ascii: "Z"),
    ]).union(ASCIISet("-._~"))
    /// Visible ASCII: the bytes of a request target.
    static let visible = ASCIISet([0x21...0x7E])
    /// The bytes of a field value (RFC 9110 §5.5): visible ASCII, space, tab and obs-text;
    /// no other control byte.
    static let fieldValue = ASCIISet([0x21...0x7E, 0x80...0xFF]).union(ASCIISet(" \t"))
}
