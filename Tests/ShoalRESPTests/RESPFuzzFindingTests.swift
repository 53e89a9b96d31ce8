import NIOCore
import ShoalRESP
import Testing

@Suite("Inputs the fuzzer found")
struct RESPFuzzFindingTests {
    /// What a decoder made of some bytes: the values, in order, and whether it then failed.
    struct Decoded: Equatable, CustomStringConvertible {
        var values: [RESPValue] = []
        var failed = false
        var description: String { "\(values.count) values\(failed ? ", then an error" : "")" }
    }

    /// Decodes `bytes` given whole.
    static func decodeWhole(_ bytes: [UInt8]) -> Decoded {
        decode([bytes])
    }

    /// Decodes `bytes` given in two parts, cut at `cut`.
    static func decodeSplit(_ bytes: [UInt8], cut: Int) -> Decoded {
        decode([Array(bytes[..<cut]), Array(bytes[cut...])])
    }

    private static func decode(_ parts: [[UInt8]]) -> Decoded {
        let decoder = RESPDecoder()
        var received = ByteBuffer()
        var decoded = Decoded()
        for part in parts {
            received.writeBytes(part)
            do {
                while let value = try decoder.decode(from: &received) { decoded.values.append(value) }
            } catch {
                decoded.failed = true
                return decoded
            }
        }
        return decoded
    }

    @Test("a verbatim format must be three ASCII characters, so every decoded value re-encodes")
    func verbatimFormat() throws {
        var bytes = ByteBuffer(
            bytes: Array("=8\r\ntx".utf8) + [0xE5] + Array(":ab".utf8) + [0xA6] + Array("a\r\n".utf8))
        #expect(throws: RESPProtocolError.self) { try RESPDecoder().decode(from: &bytes) }
        var out = ByteBuffer()
        RESPValue.verbatimString(format: "markdown", ByteBuffer(string: "# hi")).write(to: &out)
        #expect(try RESPDecoder().decode(from: &out) == .verbatimString(format: "txt", ByteBuffer(string: "# hi")))
    }

    /// The input the fuzzer found: an attribute, a blob error, a verbatim string whose format
    /// is not ASCII (0xE5), a simple error with control bytes, and an array of length -0.
    static let found: [UInt8] = [
        0x7c, 0x31, 0xd, 0xa, 0x2b, 0x61, 0xd, 0xa, 0x21, 0x33, 0xd, 0xa, 0x65, 0x72, 0x72, 0xd, 0xa, 0x3d, 0x38, 0xd,
        0xa, 0x74, 0x78, 0xe5, 0x3a, 0x61, 0x62, 0xa6, 0x61, 0xd, 0xa, 0x21, 0x33, 0xd, 0xa, 0x65, 0x72, 0x72, 0xd,
        0xa, 0x2d, 0x0, 0x0, 0xf3, 0x24, 0x2d, 0x31, 0xd, 0xa, 0x2a, 0x2d, 0x30, 0xd, 0xa,
    ]

    @Test("the input the fuzzer found fails at the same point, with the same values before it, whole or split")
    func splitEqualsWholeOnFailure() {
        let whole = Self.decodeWhole(Self.found)
        #expect(whole.failed, "the verbatim format 0xE5 must be rejected")
        for cut in 1..<Self.found.count {
            let split = Self.decodeSplit(Self.found, cut: cut)
            #expect(split == whole, "cut at \(cut): \(split) against \(whole)")
        }
    }

    @Test("the same input with an ASCII verbatim format decodes to the same values whole or split")
    func splitEqualsWhole() {
        var repaired = Self.found
        repaired[23] = UInt8(ascii: "t")  // the format becomes "txt"
        repaired[27] = UInt8(ascii: "c")
        let whole = Self.decodeWhole(repaired)
        // The attributed verbatim string and the blob error decode before anything fails, so
        // the comparison below is over real values, not two empty lists.
        #expect(whole.values.count >= 2, "\(whole)")
        #expect(
            whole.values.first
                == .attributed(
                    attributes: [RESPMapEntry(key: .simpleString(ByteBuffer(string: "a")), value: .blobError(ByteBuffer(string: "err")))],
                    value: .verbatimString(format: "txt", ByteBuffer(string: "abca"))), "\(whole)")
        for cut in 1..<repaired.count {
            let split = Self.decodeSplit(repaired, cut: cut)
            #expect(split == whole, "cut at \(cut): \(split) against \(whole)")
        }
    }
}
