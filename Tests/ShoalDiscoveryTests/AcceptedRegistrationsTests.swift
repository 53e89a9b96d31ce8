import ShoalCore
import Testing

@testable import ShoalDiscovery

@Suite("Which accepted registrations a shoal serve puts back")
struct AcceptedRegistrationsTests {
    private func instance(_ id: String) throws -> ServiceInstance {
        try ServiceInstance(service: "api", id: id, address: "10.0.0.7", port: 8000)
    }

    @Test("an entry renewed within its TTL stays live; one that lapsed, or was deregistered, is forgotten")
    func liveness() throws {
        var accepted = AcceptedRegistrations()
        let start = MonotonicInstant(nanoseconds: 0)
        accepted.accepted(try instance("a"), ttl: .seconds(3), at: start)
        accepted.accepted(try instance("b"), ttl: .seconds(3), at: start)
        accepted.accepted(try instance("c"), ttl: .seconds(3), at: start)
        #expect(accepted.renewed(service: "api", id: "a", at: start + .seconds(2))?.instance.id == "a")
        accepted.removed(service: "api", id: "c")
        accepted.health(.critical, service: "api", id: "a")
        let live = accepted.nextChecks(at: start + .milliseconds(4000), limit: 100)
        #expect(live["api"]?.map(\.instance.id) == ["a"])
        #expect(live["api"]?.first?.instance.health == .critical)
        #expect(accepted.renewed(service: "api", id: "b", at: start + .seconds(4)) == nil, "b lapsed")
        #expect(accepted.renewed(service: "api", id: "a", at: start + .seconds(6)) == nil, "a lapsed after its renewal")
    }

    @Test("missing: the entries the store lacks, in id order")
    func missing() throws {
        let start = MonotonicInstant(nanoseconds: 0)
        let entries = try ["c", "a", "b"].map {
            AcceptedRegistrations.Entry(instance: try instance($0), ttl: .seconds(3), renewedAt: start)
        }
        #expect(AcceptedRegistrations.missing(entries, absent: ["a", "c", "z"]).map(\.instance.id) == ["a", "c"])
    }

    @Test("checks: each live entry once a round, at most the limit at a time; a new one joins the round under way")
    func rounds() throws {
        var accepted = AcceptedRegistrations()
        let start = MonotonicInstant(nanoseconds: 0)
        for n in 0..<25 { accepted.accepted(try instance("i\(n)"), ttl: .seconds(60), at: start) }
        var checked: [[String]] = []
        for second in 0..<4 {
            let checks = accepted.nextChecks(at: start + .seconds(second), limit: 10)
            checked.append((checks["api"] ?? []).map(\.instance.id))
            if second == 0 { accepted.accepted(try instance("late"), ttl: .seconds(60), at: start) }
        }
        #expect(checked.map(\.count) == [10, 10, 6, 10], "\(checked)")
        let firstRound = checked[0] + checked[1] + checked[2]
        #expect(Set(firstRound).count == 26 && firstRound.contains("late"), "each once, the late one too")
        // The second round starts afresh: after the limit's worth, those not yet checked.
        let rest = accepted.nextChecks(at: start + .seconds(4), limit: 100)["api"] ?? []
        #expect(Set(rest.map(\.instance.id)).union(checked[3]).count == 26)
        #expect(Set(rest.map(\.instance.id)).isDisjoint(with: checked[3]))
        // A lapsed entry is forgotten, not checked.
        let lapsed = accepted.nextChecks(at: start + .seconds(61), limit: 100)
        #expect(lapsed.isEmpty)
    }
}
