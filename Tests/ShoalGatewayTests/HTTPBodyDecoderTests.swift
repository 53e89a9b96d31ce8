import NIOCore
import PropertyBased
import ShoalCore
import ShoalTesting
import Testing

@testable import ShoalGateway

@Suite("bodies: by length, in chunks, or to the connection's end, whatever pieces they arrive in")
struct HTTPBodyDecoderTests {
    /// Feeds `pieces` in turn; the data decoded, whether the body ended, what was left, and the
    /// trailer fields as `name: value` lines.
    static func decode(_ framing: HTTPBodyDecoder.Framing, _ pieces: [[UInt8]]) throws(HTTPParseError) -> (
        data: [UInt8], ended: Bool, rest: [UInt8], trailers: [String]
    ) {
        var decoder = HTTPBodyDecoder(framing)
        var buffer = ByteBuffer()
        var data: [UInt8] = []
        for (index, piece) in pieces.enumerated() {
            buffer.writeBytes(piece)
            while let next = try decoder.next(from: &buffer) {
                switch next {
                case .data(let slice): data += slice.readableBytesView
                case .end:
                    let trailers = decoder.trailers.map { list in
                        list.fields.map { list.string($0.name) + ": " + list.string($0.value) }
                    }
                    return (
                        data, true, Array(buffer.readableBytesView) + pieces[(index + 1)...].joined(), trailers ?? []
                    )
                }
            }
        }
        return (data, false, Array(buffer.readableBytesView), [])
    }

    /// `data` in chunks of the given sizes, with an extension and a trailer.
    static func chunked(_ data: [UInt8], sizes: [Int]) -> [UInt8] {
        var out: [UInt8] = []
        var offset = 0
        for size in sizes where offset < data.count {
            let end = min(offset + size, data.count)
            out += Array("\(String(end - offset, radix: 16));ext=1\r\n".utf8) + data[offset..<end] + Array("\r\n".utf8)
            offset = end
        }
        return out + Array("0\r\nX-Trailer: t\r\n\r\n".utf8)
    }

    @Test("a chunked body decodes to its data whatever its chunks and pieces, and stops at its end")
    func chunkedPieces() async {
        await propertyCheck(count: 200, input: Gen.uint64()) { seed in
            await recordingThrows {
                var random = SplitMix64(seed: seed)
                let data = (0..<Int(random.next() % 3000)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                let sizes = (0..<64).map { _ in Int(random.next() % 700) + 1 }
                let wire = Self.chunked(data, sizes: sizes) + Array("GET /next".utf8)
                var pieces: [[UInt8]] = []
                var offset = 0
                while offset < wire.count {
                    let length = min(Int(random.next() % 97) + 1, wire.count - offset)
                    pieces.append(Array(wire[offset..<offset + length]))
                    offset += length
                }
                let result = try Self.decode(.chunked, pieces)
                #expect(result.data == data && result.ended && result.rest == Array("GET /next".utf8))
                #expect(result.trailers == ["X-Trailer: t"])
            }
        }
    }

    @Test(
        "trailer fields are read as a head's fields are, and the ones that may go on are written after the last chunk")
    func trailers() throws {
        let wire = "1\r\na\r\n0\r\nChecksum: abc \r\nContent-Length: 5\r\nX-B:\t2\r\nHost: h\r\nTE: x\r\n\r\nnext"
        let result = try Self.decode(.chunked, [Array(wire.utf8)])
        #expect(result.ended && result.rest == Array("next".utf8))
        #expect(result.trailers == ["Checksum: abc", "Content-Length: 5", "X-B: 2", "Host: h", "TE: x"])
        #expect(try Self.decode(.chunked, [Array("0\r\n\r\n".utf8)]).trailers.isEmpty)

        let last = ChunkedEncoding.lastChunk(trailers: try Self.trailers(wire), allocator: ByteBufferAllocator())
        #expect(String(buffer: last) == "0\r\nChecksum: abc \r\nX-B:\t2\r\n\r\n")
        // Only fields the gateway reads in a head: nothing goes on but the last chunk.
        let framing = try Self.trailers("0\r\nContent-Length: 5\r\nConnection: close\r\n\r\n")
        #expect(framing?.fields.count == 2)
        #expect(String(buffer: ChunkedEncoding.lastChunk(trailers: framing, allocator: .init())) == "0\r\n\r\n")

        for (bad, reason) in [
            ("0\r\nNo colon\r\n\r\n", "field name"), ("0\r\n folded: x\r\n\r\n", "line folding"),
            ("0\r\nX : 1\r\n\r\n", "field name"),
        ] {
            var refusal: HTTPParseError?
            do { _ = try Self.trailers(bad) } catch { refusal = error }
            #expect(
                refusal?.message.contains("trailer") == true && refusal?.message.contains(reason) == true,
                "\(bad.debugDescription): \(refusal?.message ?? "accepted")")
        }
    }

    /// The trailer fields of the chunked body `wire`, decoded whole.
    static func trailers(_ wire: String) throws(HTTPParseError) -> HTTPFieldList? {
        var decoder = HTTPBodyDecoder(.chunked)
        var buffer = ByteBuffer(string: wire)
        while let piece = try decoder.next(from: &buffer) {
            if case .end = piece { break }
        }
        return decoder.trailers
    }

    @Test("a length-framed body ends at its length; one framed by the close, at the close")
    func lengthAndClose() throws {
        let result = try Self.decode(.length(5), [Array("ab".utf8), Array("cdeXY".utf8)])
        #expect(result.data == Array("abcde".utf8) && result.ended && result.rest == Array("XY".utf8))
        #expect(try Self.decode(.length(0), [Array("GET".utf8)]).ended)
        var decoder = HTTPBodyDecoder(.untilClose)
        var buffer = ByteBuffer(string: "all")
        guard case .data(let data) = try decoder.next(from: &buffer) else {
            Issue.record("no data")
            return
        }
        #expect(String(buffer: data) == "all")
        let closed = decoder.connectionClosed()
        #expect(closed)
        var cut = HTTPBodyDecoder(.length(9))
        var three = ByteBuffer(string: "abc")
        _ = try cut.next(from: &three)
        let cutClosed = cut.connectionClosed()
        #expect(!cutClosed)  // cut short
    }

    @Test("malformed chunked framing is refused, each with its reason")
    func malformed() {
        let cases: [(String, String)] = [
            ("x\r\n", "hexadecimal"),
            ("\r\n", "hexadecimal"),
            ("5g\r\n", "hexadecimal"),
            ("1000000000000000\r\n", "too long"),
            ("3\nabc\r\n", "LF without CR"),
            ("3\r\nabcd\r\n", "longer than its size"),
            ("3\r\nabc\r0\r\n", "CR without LF"),
            ("0\r\nX: \u{1}\r\n\r\n", "control byte"),
            ("3;\u{7f}\r\nabc\r\n", "chunk extension"),
        ]
        for (wire, reason) in cases {
            do {
                let result = try Self.decode(.chunked, [Array(wire.utf8)])
                Issue.record("\(wire.debugDescription) accepted: \(result)")
            } catch {
                #expect(error.message.contains(reason), "\(wire.debugDescription): \(error.message)")
            }
        }
    }
}
