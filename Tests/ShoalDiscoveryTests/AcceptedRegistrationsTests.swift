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
        let live = accepted.live(at: start + .milliseconds(4000))
        #expect(live["api"]?.map(\.instance.id) == ["a"])
        #expect(live["api"]?.first?.instance.health == .critical)
        #expect(accepted.renewed(service: "api", id: "b", at: start + .seconds(4)) == nil, "b lapsed")
        #expect(accepted.renewed(service: "api", id: "a", at: start + .seconds(6)) == nil, "a lapsed after its renewal")
    }

    @Test("missing: the live entries the store lacks")
    func missing() throws {
        let start = MonotonicInstant(nanoseconds: 0)
        let entries = try ["a", "b", "c"].map {
            AcceptedRegistrations.Entry(instance: try instance($0), ttl: .seconds(3), renewedAt: start)
        }
        #expect(AcceptedRegistrations.missing(entries, from: ["b", "z"]).map(\.instance.id) == ["a", "c"])
    }
}
