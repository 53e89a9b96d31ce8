import ShoalCore
import Testing

@Suite("Endpoint parsing")
struct EndpointParsingTests {
    @Test(
        "accepted forms",
        arguments: [
            ("cache-1:11211", "cache-1", 11211, 1.0),
            ("10.0.0.7:6379=2", "10.0.0.7", 6379, 2.0),
            ("[::1]:6380=0.5", "::1", 6380, 0.5),
            ("h:0", "h", 0, 1.0),
            ("h:65535=100", "h", 65535, 100.0),
        ])
    func accepted(text: String, host: String, port: Int, weight: Double) throws {
        let endpoint = try Endpoint(parsing: text)
        #expect(endpoint.host == host)
        #expect(endpoint.port == port)
        #expect(endpoint.weight == weight)
    }

    @Test(
        "rejected forms say what was wrong",
        arguments: [
            ("", EndpointError.Code.missingPort),
            ("host", .missingPort),
            ("host:", .missingPort),
            (":11211", .emptyHost),
            ("host:65536", .portOutOfRange),
            ("host:99999999999999999999", .portOutOfRange),
            ("host:-1", .missingPort),
            ("host:80=0", .invalidWeight),
            ("host:80=-2", .invalidWeight),
            ("host:80=nan", .invalidWeight),
            ("host:80=inf", .invalidWeight),
            ("host:80=1e400", .invalidWeight),
            ("host:80=", .invalidWeight),
            ("::1:80", .malformed),
            ("[::1:80", .malformed),
            ("[::1]80", .missingPort),
            ("my host:80", .malformed),
        ])
    func rejected(text: String, code: EndpointError.Code) {
        do {
            let endpoint = try Endpoint(parsing: text)
            Issue.record("'\(text)' was accepted as \(endpoint)")
        } catch {
            #expect(error.code == code, "'\(text)': \(error)")
            #expect(error.description.contains("'\(text)'"))
        }
    }

    @Test("address brackets IPv6 and description shows non-default weights")
    func rendering() throws {
        #expect(try Endpoint(parsing: "[fe80::1]:80").address == "[fe80::1]:80")
        #expect(try Endpoint(parsing: "a:1=2").description == "a:1=2")
        #expect(try Endpoint(parsing: "a:1=1").description == "a:1")
        #expect(try Endpoint(parsing: "a:1=1.5").description == "a:1=1.5")
    }
}

@Suite("Durations and clocks")
struct ClockTests {
    @Test(
        "nanosecondsDouble is exact on both sides of the 64-bit attosecond boundary",
        arguments: [
            Duration.zero, .nanoseconds(1), .milliseconds(170), .seconds(18), .seconds(19), .seconds(86_400),
            .nanoseconds(-5), .seconds(-30),
        ])
    func nanoseconds(duration: Duration) {
        #expect(duration.nanosecondsDouble == Double(duration.totalNanoseconds))
    }

    @Test("a manual clock moves only when told, and never backwards")
    func manualClock() {
        let clock = ManualClock()
        #expect(clock.now().nanoseconds == 0)
        clock.advance(by: .milliseconds(5))
        #expect(clock.now().nanoseconds == 5_000_000)
        clock.advance(to: MonotonicInstant(nanoseconds: 1_000))
        #expect(clock.now().nanoseconds == 5_000_000)
        clock.advance(by: .seconds(-1))
        #expect(clock.now().nanoseconds == 5_000_000)
    }

    @Test("instants add durations and subtract to durations, saturating")
    func instants() {
        let start = MonotonicInstant(nanoseconds: 100)
        #expect((start + .seconds(1)) - start == .seconds(1))
        #expect((MonotonicInstant(nanoseconds: .max - 1) + .seconds(1)).nanoseconds == .max)
    }
}
