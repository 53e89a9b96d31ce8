import Foundation
import NIOCore
import ShoalCore
import Testing

@testable import ShoalGateway

@Suite("access-log lines: valid JSON whatever the client sent, with UTC times")
struct AccessLogLineTests {
    /// `text` parsed as a request head.
    func head(_ text: String) throws -> RequestHead {
        try head(bytes: Array(text.utf8))
    }

    func head(bytes: [UInt8]) throws -> RequestHead {
        try RequestHead(try #require(HTTPHeadScanner.firstHead(in: ByteBuffer(bytes: bytes))))
    }

    /// The JSON object of one line.
    func object(_ line: [UInt8]) throws -> [String: Any] {
        let data = Data(line)
        #expect(data.last == UInt8(ascii: "\n") && data.dropLast().contains(UInt8(ascii: "\n")) == false)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test("a proxied request's line has every field, typed")
    func fields() throws {
        let request = try head(
            "POST /api/orders?x=1 HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: curl/8.5.0\r\nContent-Length: 3\r\n\r\n"
        )
        var line: [UInt8] = []
        line.appendAccessLogLine(
            AccessLogEntry(
                time: 1_796_034_662_123, requestID: "abc", client: "10.0.0.1", request: request, status: 201,
                route: "/api", upstream: "10.0.0.7:8080", tries: 2, requestBytes: 3, responseBytes: 512,
                durationNanoseconds: 1_834_567, upstreamNanoseconds: 1_250_000, error: nil))
        let object = try object(line)
        #expect(object["time"] as? String == "2026-11-30T10:31:02.123Z")
        #expect(object["request_id"] as? String == "abc")
        #expect(object["client"] as? String == "10.0.0.1")
        #expect(object["method"] as? String == "POST")
        #expect(object["host"] as? String == "shop.example")
        #expect(object["target"] as? String == "/api/orders?x=1")
        #expect(object["protocol"] as? String == "HTTP/1.1")
        #expect(object["status"] as? Int == 201)
        #expect(object["route"] as? String == "/api")
        #expect(object["upstream"] as? String == "10.0.0.7:8080")
        #expect(object["tries"] as? Int == 2)
        #expect(object["request_bytes"] as? Int == 3)
        #expect(object["response_bytes"] as? Int == 512)
        #expect(object["duration_ms"] as? Double == 1.834)
        #expect(object["upstream_ms"] as? Double == 1.25)
        #expect(object["user_agent"] as? String == "curl/8.5.0")
        #expect(object["error"] is NSNull)
        #expect(object["grpc_status"] is NSNull)
        #expect(object.count == 18)
    }

    @Test("bytes that were not a request: the request's fields are null")
    func noRequest() throws {
        var line: [UInt8] = []
        line.appendAccessLogLine(
            AccessLogEntry(
                time: 0, requestID: nil, client: "::1", request: nil, status: 400, route: nil, upstream: nil,
                durationNanoseconds: 0, error: "malformed request"))
        let object = try object(line)
        #expect(object["time"] as? String == "1970-01-01T00:00:00.000Z")
        for key in [
            "request_id", "method", "host", "target", "protocol", "route", "upstream", "upstream_ms", "user_agent",
            "grpc_status",
        ] {
            #expect(object[key] is NSNull, "\(key)")
        }
        #expect(object["status"] as? Int == 400 && object["error"] as? String == "malformed request")
        #expect(object["duration_ms"] as? Double == 0)
    }

    @Test("quotes, backslashes, control bytes and bytes that are not UTF-8 stay valid JSON and keep their meaning")
    func escaping() throws {
        let cases: [([UInt8], String)] = [
            (Array(#"say "hi" \ bye"#.utf8), #"say "hi" \ bye"#),
            (Array("tab\there\u{1}\u{1f}\n\r".utf8), "tab\there\u{1}\u{1f}\n\r"),
            (Array("café ☕️".utf8), "café ☕️"),  // valid UTF-8 is kept
            ([0x74, 0xE9, 0x73, 0x74], "tést"),  // Latin-1 é alone is not UTF-8: read as Latin-1
            ([0xFF, 0x7F, 0x80], "\u{FF}\u{7F}\u{80}"),
            ([], ""),
        ]
        for (bytes, expected) in cases {
            var line: [UInt8] = []
            line.append(contentsOf: #"{"v":"#.utf8)
            line.appendJSONString(bytes: bytes[...])
            line.append(contentsOf: "}".utf8)
            let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: String]
            #expect(object?["v"] == expected, "\(bytes)")
        }
        // A user agent from the network, in a whole line.
        let request = try head(
            bytes: Array("GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: x\"\\".utf8) + [0xE9] + Array("y\r\n\r\n".utf8))
        var line: [UInt8] = []
        line.appendAccessLogLine(
            AccessLogEntry(time: 0, request: request, status: 200, durationNanoseconds: 0))
        #expect(try object(line)["user_agent"] as? String == "x\"\\éy")
    }

    @Test("a request that came on an HTTP/2 stream is logged as HTTP/2")
    func http2() throws {
        let request = try head(bytes: Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
        var line: [UInt8] = []
        line.appendAccessLogLine(AccessLogEntry(time: 0, request: request, status: 200, durationNanoseconds: 0, http2: true))
        #expect(try object(line)["protocol"] as? String == "HTTP/2")
    }

    @Test("a gRPC call's line has its grpc-status")
    func grpcStatus() throws {
        let request = try head(bytes: Array("POST /a.B/C HTTP/1.1\r\nHost: a\r\ncontent-type: application/grpc\r\n\r\n".utf8))
        var line: [UInt8] = []
        line.appendAccessLogLine(
            AccessLogEntry(time: 0, request: request, status: 200, durationNanoseconds: 0, http2: true, grpcStatus: 14))
        #expect(try object(line)["grpc_status"] as? Int == 14)
    }

    @Test("times agree with Foundation's calendar over four centuries, before 1970 and on leap days")
    func times() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var random = SplitMix64(seed: 20_261_129)
        let fixed: [Int64] = [
            0, -1, 86_399_999, 951_782_400_000,  // 2000-02-29
            1_709_164_800_000,  // 2024-02-29
            4_107_542_400_000,  // 2100-03-01
            -2_208_988_800_000,  // 1900-01-01
            253_402_300_799_999,  // 9999-12-31T23:59:59.999
        ]
        let randomTimes = (0..<2000).map { _ in Int64(random.next() % 12_000_000_000_000) - 2_000_000_000_000 }
        for milliseconds in fixed + randomTimes {
            var line: [UInt8] = []
            line.appendUTCTime(millisecondsSinceEpoch: milliseconds)
            let (seconds, fraction) = milliseconds.quotientAndRemainder(dividingBy: 1000)
            let whole = fraction < 0 ? seconds - 1 : seconds
            let parts = calendar.dateComponents(
                [.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: Double(whole)))
            let expected = String(
                format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.year!, parts.month!, parts.day!, parts.hour!,
                parts.minute!, parts.second!, Int(milliseconds - whole * 1000))
            #expect(String(decoding: line, as: UTF8.self) == expected, "\(milliseconds)")
        }
    }

    @Test("decimals: leading zeros to a width, and every digit of the largest values")
    func decimals() {
        let cases: [(Int64, Int, String)] = [
            (0, 1, "0"), (7, 3, "007"), (1234, 2, "1234"), (10, 1, "10"), (99_999, 1, "99999"),
            (Int64.max, 1, String(Int64.max)), (1_000_000_000_000_000_000, 1, "1000000000000000000"), (-3, 2, "00"),
        ]
        for (value, digits, text) in cases {
            var line: [UInt8] = []
            line.appendDecimal(value, digits: digits)
            #expect(String(decoding: line, as: UTF8.self) == text)
        }
    }

    @Test("durations are milliseconds with three decimals")
    func durations() {
        let cases: [(Int64, String)] = [
            (0, "0.000"), (999, "0.000"), (1_000, "0.001"), (1_834_567, "1.834"), (12_000_000_000, "12000.000"),
            (-5, "0.000"),
        ]
        for (nanoseconds, text) in cases {
            var line: [UInt8] = []
            line.appendMilliseconds(nanoseconds: nanoseconds)
            #expect(String(decoding: line, as: UTF8.self) == text)
        }
    }
}
