import NIOCore
import ShoalRESP
import Testing

/// Decodes one value from `text`'s bytes, requiring every byte to be consumed.
func decodeAll(_ text: String, limits: RESPLimits = RESPLimits()) throws -> RESPValue? {
    var buffer = ByteBuffer(string: text)
    let value = try RESPDecoder(limits: limits).decode(from: &buffer)
    if value != nil { #expect(buffer.readableBytes == 0, "bytes left after \(text.debugDescription)") }
    return value
}

func bytes(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

@Suite("RESP decoding")
struct RESPDecoderTests {
    @Test(
        "every RESP2 and RESP3 type",
        arguments: [
            ("+OK\r\n", RESPValue.simpleString(bytes("OK"))),
            ("-ERR unknown command\r\n", .simpleError(bytes("ERR unknown command"))),
            ("!21\r\nSYNTAX invalid syntax\r\n", .blobError(bytes("SYNTAX invalid syntax"))),
            (":1000\r\n", .integer(1000)),
            (":-9223372036854775808\r\n", .integer(.min)),
            (":+42\r\n", .integer(42)),
            (",3.25\r\n", .double(3.25)),
            (",-1.5e-3\r\n", .double(-0.0015)),
            (",inf\r\n", .double(.infinity)),
            (",-inf\r\n", .double(-.infinity)),
            ("#t\r\n", .boolean(true)),
            ("#f\r\n", .boolean(false)),
            ("_\r\n", .null),
            ("$-1\r\n", .null),
            ("*-1\r\n", .null),
            (
                "(3492890328409238509324850943850943825024385\r\n",
                .bigNumber(bytes("3492890328409238509324850943850943825024385"))
            ),
            ("$5\r\nhello\r\n", .bulkString(bytes("hello"))),
            ("$0\r\n\r\n", .bulkString(bytes(""))),
            ("$4\r\na\r\nb\r\n", .bulkString(bytes("a\r\nb"))),
            ("=15\r\ntxt:Some string\r\n", .verbatimString(format: "txt", bytes("Some string"))),
            ("*2\r\n:1\r\n$1\r\nx\r\n", .array([.integer(1), .bulkString(bytes("x"))])),
            ("*0\r\n", .array([])),
            ("~2\r\n+a\r\n+b\r\n", .set([.simpleString(bytes("a")), .simpleString(bytes("b"))])),
            ("%1\r\n+key\r\n:7\r\n", .map([RESPMapEntry(key: .simpleString(bytes("key")), value: .integer(7))])),
            (
                ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
                .push([.bulkString(bytes("message")), .bulkString(bytes("ch")), .bulkString(bytes("hi"))])
            ),
            (
                "|1\r\n+ttl\r\n:3600\r\n:42\r\n",
                .attributed(
                    attributes: [RESPMapEntry(key: .simpleString(bytes("ttl")), value: .integer(3600))],
                    value: .integer(42))
            ),
        ])
    func types(text: String, expected: RESPValue) throws {
        #expect(try decodeAll(text) == expected)
    }

    @Test("NaN is a double")
    func nan() throws {
        guard case .double(let value) = try decodeAll(",nan\r\n") else {
            Issue.record("not a double")
            return
        }
        #expect(value.isNaN)
    }

    static let frames = [
        "+OK\r\n", ":-12\r\n", "$5\r\nhello\r\n", "$-1\r\n", "=15\r\ntxt:Some string\r\n", ",1.5\r\n",
        "*3\r\n$3\r\nSET\r\n%1\r\n+k\r\n~2\r\n#t\r\n_\r\n>1\r\n(123\r\n",
        "|1\r\n+a\r\n!3\r\nerr\r\n*2\r\n$0\r\n\r\n*0\r\n",
    ]

    @Test("a frame cut at any offset is incomplete and consumes nothing", arguments: frames)
    func truncated(frame: String) throws {
        let whole = Array(frame.utf8)
        for cut in 0..<whole.count {
            var buffer = ByteBuffer(bytes: whole[0..<cut])
            #expect(try RESPDecoder().decode(from: &buffer) == nil, "cut at \(cut) of \(frame.debugDescription)")
            #expect(buffer.readableBytes == cut)
        }
        var buffer = ByteBuffer(bytes: whole)
        #expect(try RESPDecoder().decode(from: &buffer) != nil)
        #expect(buffer.readableBytes == 0)
    }

    @Test("pipelined replies decode one after another, leaving a partial one for later")
    func pipelined() throws {
        var buffer = bytes("+OK\r\n:1\r\n$3\r\nfoo\r\n*2\r\n:1")
        let decoder = RESPDecoder()
        #expect(try decoder.decode(from: &buffer) == .simpleString(bytes("OK")))
        #expect(try decoder.decode(from: &buffer) == .integer(1))
        #expect(try decoder.decode(from: &buffer) == .bulkString(bytes("foo")))
        #expect(try decoder.decode(from: &buffer) == nil)
        buffer.writeString("\r\n:2\r\n")
        #expect(try decoder.decode(from: &buffer) == .array([.integer(1), .integer(2)]))
        #expect(buffer.readableBytes == 0)
    }

    @Test(
        "malformed bytes are protocol errors that say what is wrong",
        arguments: [
            ("?what\r\n", RESPProtocolError.Code.unknownType),
            (":12a\r\n", .invalidInteger),
            (":\r\n", .invalidInteger),
            (":99999999999999999999\r\n", .invalidInteger),
            (",1.2.3x\r\n", .invalidDouble),
            (",\r\n", .invalidDouble),
            ("#x\r\n", .invalidBoolean),
            ("_x\r\n", .missingTerminator),
            ("+OK\n", .missingTerminator),
            ("+OK\rX", .missingTerminator),
            ("$3\r\nabcd\r\n", .missingTerminator),
            ("$-2\r\n", .invalidLength),
            ("$abc\r\n", .invalidLength),
            ("!-1\r\n", .invalidLength),
            ("*-2\r\n", .invalidLength),
            ("%-1\r\n", .invalidLength),
            ("=2\r\nab\r\n", .invalidLength),
            ("(12x\r\n", .invalidInteger),
            ("$?\r\n", .unsupported),
            ("*?\r\n", .unsupported),
        ])
    func malformed(text: String, code: RESPProtocolError.Code) {
        do {
            let value = try decodeAll(text)
            Issue.record("\(text.debugDescription) decoded as \(String(describing: value))")
        } catch let error as RESPProtocolError {
            #expect(error.code == code, "\(text.debugDescription): \(error)")
            #expect(error.description.contains("RESP protocol error at byte"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("limits stop oversized input before the bytes arrive, so memory stays bounded")
    func limits() {
        let small = RESPLimits(
            maximumBulkLength: 1024, maximumAggregateCount: 100, maximumDepth: 8, maximumLineLength: 64)
        func code(_ text: String) -> RESPProtocolError.Code? {
            var buffer = bytes(text)
            do {
                _ = try RESPDecoder(limits: small).decode(from: &buffer)
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code("$1025\r\n") == .bulkTooLong)  // refused before any payload arrives
        #expect(code("$9223372036854775807\r\n") == .bulkTooLong)
        #expect(code("*101\r\n") == .aggregateTooLarge)
        #expect(code("%101\r\n") == .aggregateTooLarge)
        #expect(code(String(repeating: "*1\r\n", count: 9) + ":1\r\n") == .nestedTooDeep)
        #expect(code(String(repeating: "*1\r\n", count: 8) + ":1\r\n") == nil)
        #expect(code("+" + String(repeating: "a", count: 100)) == .lineTooLong)  // no CRLF yet
        #expect(code("$1024\r\n") == nil)  // at the limit: waits for the payload
        // Attributes before a value count as nesting, so a long chain cannot exhaust the stack.
        #expect(code(String(repeating: "|0\r\n", count: 100_000) + ":1\r\n") == .nestedTooDeep)
    }
}
