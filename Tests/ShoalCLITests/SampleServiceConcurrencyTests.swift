import ShoalTesting
import Testing

@testable import shoal

@Suite("a sample service's concurrency limit: that many served at once, the rest in arrival order")
struct SampleServiceSlotsTests {
    @Test("with a limit of 2, the third and fourth wait, and start in order as slots free")
    func limited() {
        var slots = SampleServiceSlots<Int>(limit: 2)
        let started = [1, 2, 3, 4].map { slots.arrive($0) }
        #expect(started == [true, true, false, false])
        #expect(slots.serving == 2 && slots.queued == 2)
        let next = (0..<4).map { _ in slots.finished() }
        #expect(next == [3, 4, nil, nil])
        #expect(slots.serving == 0 && slots.queued == 0)
        let again = slots.arrive(5)
        #expect(again)
    }

    @Test("without a limit, every request starts at once")
    func unlimited() {
        var slots = SampleServiceSlots<Int>(limit: nil)
        let started = (0..<1000).map { slots.arrive($0) }
        #expect(started.allSatisfy { $0 })
        #expect(slots.serving == 1000 && slots.queued == 0)
    }
}

@Suite("sample-service --concurrency on real sockets")
struct SampleServiceConcurrencyTests {
    @Test("one slot and 300 ms: three requests at once are answered one after another, the last after 900 ms or more")
    func queued() async throws {
        let service = try await SampleServiceProcess(name: "q", latency: "300ms", concurrency: 1)
        defer { service.stop() }
        let port = service.port
        let started = ContinuousClock.now
        func answered() async throws -> Duration {
            try await blocking {
                let connection = try RawConnection(port: port, timeout: 10)
                guard connection.send("GET / HTTP/1.1\r\nHost: q\r\n\r\n"), connection.readResponse()?.status == 200
                else {
                    throw RedisServerError("no answer from the sample service")
                }
                return ContinuousClock.now - started
            }
        }
        async let first = answered()
        async let second = answered()
        async let third = answered()
        let times = try await [first, second, third].sorted()
        #expect(times[0] >= .milliseconds(300), "\(times)")
        #expect(times[1] >= .milliseconds(600), "\(times)")
        #expect(times[2] >= .milliseconds(900), "\(times)")
    }

    @Test("--concurrency 0 is refused with exit code 2")
    func refused() async throws {
        let result = try await ShoalProcess.run(["sample-service", "--concurrency", "0"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--concurrency must be in 1...100000, not 0"), "\(result.stderr)")
    }
}
