import NIOCore
import PropertyBased
import ShoalCore
import ShoalRESP
import ShoalTesting
import Testing

/// Random RESP values (no NaN, whose inequality to itself would defeat `==`).
struct RandomRESP {
    var random: SplitMix64

    mutating func value(depth: Int = 0) -> RESPValue {
        let kinds = depth >= 4 ? 10 : 15
        switch random.next() % UInt64(kinds) {
        case 0: return .simpleString(text(simple: true))
        case 1: return .simpleError(text(simple: true))
        case 2: return .blobError(text(simple: false))
        case 3: return .integer(Int64(bitPattern: random.next()))
        case 4: return .double(Double(Int64(bitPattern: random.next()) % 1_000_000) / 64)
        case 5: return .boolean(random.next() % 2 == 0)
        case 6: return .null
        case 7:
            return .bigNumber(
                ByteBuffer(string: (random.next() % 2 == 0 ? "-" : "") + String(random.next()) + String(random.next())))
        case 8: return .bulkString(text(simple: false))
        case 9: return .verbatimString(format: "txt", text(simple: false))
        case 10: return .array(elements(depth))
        case 11: return .set(elements(depth))
        case 12: return .push(elements(depth))
        case 13: return .map(entries(depth))
        default: return .attributed(attributes: entries(depth), value: value(depth: depth + 1))
        }
    }

    mutating func elements(_ depth: Int) -> [RESPValue] {
        (0..<Int(random.next() % 5)).map { _ in value(depth: depth + 1) }
    }

    mutating func entries(_ depth: Int) -> [RESPMapEntry] {
        (0..<Int(random.next() % 4)).map { _ in
            RESPMapEntry(key: value(depth: depth + 1), value: value(depth: depth + 1))
        }
    }

    /// Any bytes for bulk payloads; no CR or LF for simple strings.
    mutating func text(simple: Bool) -> ByteBuffer {
        let length = Int(random.next() % 40)
        return ByteBuffer(
            bytes: (0..<length).map { _ in
                var byte = UInt8(truncatingIfNeeded: random.next())
                if simple && (byte == 13 || byte == 10) { byte = UInt8(ascii: "x") }
                return byte
            })
    }
}

@Suite("RESP round trips")
struct RESPRoundTripTests {
    @Test("encode then decode gives the value back, whole or fed in random pieces")
    func roundTrip() async {
        await propertyCheck(count: 300, input: Gen.uint64()) { seed in
            await recordingThrows {
                var random = RandomRESP(random: SplitMix64(seed: seed))
                let values = (0..<3).map { _ in random.value() }
                var encoded = ByteBuffer()
                for value in values { value.write(to: &encoded) }

                var whole = encoded
                let decoder = RESPDecoder()
                for value in values {
                    #expect(try decoder.decode(from: &whole) == value)
                }
                #expect(whole.readableBytes == 0)

                // The same bytes in random pieces: values come out whole, in order.
                var pieces = random.random
                var received = ByteBuffer()
                var decoded: [RESPValue] = []
                var rest = encoded
                while rest.readableBytes > 0 {
                    let size = min(rest.readableBytes, Int(pieces.next() % 7) + 1)
                    received.writeImmutableBuffer(rest.readSlice(length: size)!)
                    while let value = try decoder.decode(from: &received) { decoded.append(value) }
                }
                #expect(decoded == values)
            }
        }
    }

    @Test("commands encode as arrays of bulk strings, byte for byte")
    func commands() throws {
        var out = ByteBuffer()
        out.writeRESPCommand(RESPCommand("SET", "user:42", "alice", "PX", "10000"))
        #expect(String(buffer: out) == "*5\r\n$3\r\nSET\r\n$7\r\nuser:42\r\n$5\r\nalice\r\n$2\r\nPX\r\n$5\r\n10000\r\n")
        out.clear()
        let binary = ByteBuffer(bytes: [0, 13, 10, 255])
        out.writeRESPCommand(RESPCommand(arguments: [ByteBuffer(string: "ECHO"), binary]))
        #expect(
            try RESPDecoder().decode(from: &out)
                == .array([.bulkString(ByteBuffer(string: "ECHO")), .bulkString(binary)]))
    }

    @Test("decoding random bytes never crashes and never consumes part of a value")
    func randomBytes() async {
        await propertyCheck(count: 2000, input: Gen.uint64()) { seed in
            await recordingThrows {
                var random = SplitMix64(seed: seed)
                let alphabet = Array("+-:$*%~>|_#,(=!\r\n0123456789-?tfxa".utf8)
                let length = Int(random.next() % 64)
                var buffer = ByteBuffer(
                    bytes: (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
                let before = buffer.readableBytes
                do {
                    if try RESPDecoder().decode(from: &buffer) == nil {
                        #expect(buffer.readableBytes == before)
                    }
                } catch {
                    #expect(buffer.readableBytes == before)
                }
            }
        }
    }
}
