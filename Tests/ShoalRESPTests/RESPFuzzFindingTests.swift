import NIOCore
import ShoalRESP
import Testing

@Suite("Inputs the fuzzer found")
struct RESPFuzzFindingTests {
    /// Decodes `bytes` whole and split at `cut`; both must give the same values (or both fail).
    static func compare(_ bytes: [UInt8], cut: Int) -> (whole: [RESPValue], split: [RESPValue], splitFailed: Bool) {
        let decoder = RESPDecoder()
        var whole = ByteBuffer(bytes: bytes)
        var wholeValues: [RESPValue] = []
        while let value = try? decoder.decode(from: &whole) { wholeValues.append(value) }
        var received = ByteBuffer(bytes: bytes[0..<cut])
        var splitValues: [RESPValue] = []
        do {
            while let value = try decoder.decode(from: &received) { splitValues.append(value) }
            received.writeBytes(bytes[cut...])
            while let value = try decoder.decode(from: &received) { splitValues.append(value) }
        } catch {
            return (wholeValues, splitValues, true)
        }
        return (wholeValues, splitValues, false)
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

    @Test("a split input decodes to the same values as the whole input")
    func splitEqualsWhole() {
        let input: [UInt8] = [
            0x7c, 0x31, 0xd, 0xa, 0x2b, 0x61, 0xd, 0xa, 0x21, 0x33, 0xd, 0xa, 0x65, 0x72, 0x72, 0xd, 0xa, 0x3d, 0x38,
            0xd,
            0xa, 0x74, 0x78, 0xe5, 0x3a, 0x61, 0x62, 0xa6, 0x61, 0xd, 0xa, 0x21, 0x33, 0xd, 0xa, 0x65, 0x72, 0x72, 0xd,
            0xa, 0x2d, 0x0, 0x0, 0xf3, 0x24, 0x2d, 0x31, 0xd, 0xa, 0x2a, 0x2d, 0x30, 0xd, 0xa,
        ]
        for cut in 1..<input.count {
            let result = Self.compare(input, cut: cut)
            if !result.splitFailed {
                #expect(
                    result.split.count == result.whole.count,
                    "cut \(cut): \(result.split.count) vs \(result.whole.count)")
            }
        }
    }
}
