import NIOCore
import Testing

@testable import ShoalEtcd

@Suite("HTTP2PingSieve: the server's pings taken out of an HTTP/2 byte stream")
struct HTTP2PingSieveTests {
    /// A frame's bytes: 9-byte header, then the payload.
    static func frame(type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, payload: [UInt8]) -> [UInt8] {
        let length = payload.count
        return [UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), type, flags]
            + [UInt8(stream >> 24), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)]
            + payload
    }

    static let ping = frame(type: 6, payload: [1, 2, 3, 4, 5, 6, 7, 8])
    static let settings = frame(type: 4, payload: [0, 4, 0, 1, 0, 0])
    static let data = frame(type: 0, flags: 1, stream: 3, payload: Array(repeating: 0x61, count: 40))
    static let pingAck = frame(type: 6, flags: 1, payload: [9, 9, 9, 9, 9, 9, 9, 9])
    static let pingOnStream = frame(type: 6, stream: 5, payload: [0, 0, 0, 0, 0, 0, 0, 1])
    static let shortPing = frame(type: 6, payload: [1, 2, 3])
    static let empty = frame(type: 4, flags: 1, payload: [])

    static let stream = settings + ping + data + pingAck + empty + ping + pingOnStream + shortPing + data
    static let expected = settings + data + pingAck + empty + pingOnStream + shortPing + data

    @Test("every other frame passes in order; pings are taken, however the bytes are split")
    func splits() {
        for cut in 0...Self.stream.count {
            for secondCut in [cut, (cut + Self.stream.count) / 2, Self.stream.count] where secondCut >= cut {
                var sieve = HTTP2PingSieve()
                var passed: [UInt8] = []
                var pings: [UInt64] = []
                for range in [0..<cut, cut..<secondCut, secondCut..<Self.stream.count] {
                    let sifted = sieve.sift(ByteBuffer(bytes: Self.stream[range]))
                    passed += Array(sifted.passed.readableBytesView)
                    pings += sifted.pings
                }
                #expect(passed == Self.expected, "cut at \(cut) and \(secondCut)")
                #expect(pings == [0x0102_0304_0506_0708, 0x0102_0304_0506_0708], "cut at \(cut) and \(secondCut)")
            }
        }
    }

    @Test("one byte at a time")
    func byteByByte() {
        var sieve = HTTP2PingSieve()
        var passed: [UInt8] = []
        var pings: [UInt64] = []
        for byte in Self.stream {
            let sifted = sieve.sift(ByteBuffer(bytes: [byte]))
            passed += Array(sifted.passed.readableBytesView)
            pings += sifted.pings
        }
        #expect(passed == Self.expected)
        #expect(pings.count == 2)
    }

    @Test("the answer is a PING with the ACK flag and the same payload")
    func acknowledgement() {
        let answer = HTTP2PingSieve.acknowledgement(0x0102_0304_0506_0708, allocator: ByteBufferAllocator())
        #expect(Array(answer.readableBytesView) == Self.frame(type: 6, flags: 1, payload: [1, 2, 3, 4, 5, 6, 7, 8]))
    }
}
