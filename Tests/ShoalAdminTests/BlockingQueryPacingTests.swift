import ShoalCore
import Testing

@testable import ShoalAdmin

@Suite("Blocking-query pacing")
struct BlockingQueryPacingTests {
    /// The pauses before waiting after answers at `index` every `gap`, `count` times.
    static func pauses(
        _ pacing: inout BlockingQueryPacing, from start: inout (index: UInt64, at: MonotonicInstant),
        step: UInt64, gap: Duration, count: Int
    ) -> [Duration] {
        (0..<count).map { _ in
            start = (start.index + step, start.at + gap)
            pacing.answered(index: start.index, at: start.at)
            return pacing.pauseBeforeWaiting
        }
    }

    @Test("changes at 100 a second, or two that come close together, are answered at once")
    func keepingUp() {
        var pacing = BlockingQueryPacing()
        var at: (index: UInt64, at: MonotonicInstant) = (7, MonotonicInstant(nanoseconds: 0))
        pacing.answered(index: at.index, at: at.at)
        #expect(Self.pauses(&pacing, from: &at, step: 1, gap: .milliseconds(10), count: 100).allSatisfy { $0 == .zero })
        // Two changes 1 ms apart, between slow ones.
        #expect(Self.pauses(&pacing, from: &at, step: 1, gap: .milliseconds(1), count: 1) == [.zero])
        #expect(Self.pauses(&pacing, from: &at, step: 1, gap: .milliseconds(40), count: 3).allSatisfy { $0 == .zero })
        // Answers that carry no new change (several clients answered at the same index).
        #expect(Self.pauses(&pacing, from: &at, step: 0, gap: .microseconds(10), count: 10).allSatisfy { $0 == .zero })
    }

    @Test("a burst of 5,000 changes a second pauses queries 32 ms; once it ends, they wait at once again")
    func burst() {
        var pacing = BlockingQueryPacing()
        var at: (index: UInt64, at: MonotonicInstant) = (0, MonotonicInstant(nanoseconds: 0))
        pacing.answered(index: 0, at: at.at)
        // An answer every 2 ms, 10 changes each: after the first 50 ms window, a burst.
        let pauses = Self.pauses(&pacing, from: &at, step: 10, gap: .milliseconds(2), count: 40)
        #expect(pauses.prefix(24).allSatisfy { $0 == .zero })
        #expect(pauses.suffix(15).allSatisfy { $0 == .milliseconds(32) })
        // Paced answers (32 ms apart, 160 changes each) keep the burst.
        #expect(Self.pauses(&pacing, from: &at, step: 160, gap: .milliseconds(32), count: 6).last == .milliseconds(32))
        // The burst ends: a change every 60 ms. The window that ends first may still hold
        // part of the burst; the next does not.
        #expect(Self.pauses(&pacing, from: &at, step: 1, gap: .milliseconds(60), count: 2).last == .zero)
    }
}
