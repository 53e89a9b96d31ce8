import PropertyBased
import ShoalCore
import ShoalTesting
import Testing

@testable import ShoalDiscovery

@Suite("Service endpoints")
struct ServiceEndpointsTests {
    /// Instances with ids and addresses from small pools, so that addresses repeat, and
    /// health that is sometimes critical.
    static func snapshot(_ generator: inout SplitMix64, index: UInt64) throws -> ServiceSnapshot {
        var instances: [ServiceInstance] = []
        for id in 0..<10 where generator.next() % 2 == 0 {
            instances.append(
                try ServiceInstance(
                    service: "payments", id: "i\(id)", address: "10.0.0.\(generator.next() % 4)", port: 8080,
                    health: generator.next() % 4 == 0 ? .critical : .passing))
        }
        return ServiceSnapshot(service: "payments", index: index, instances: instances)
    }

    @Test("endpoints kept up to date by changes equal those made from the state after them")
    func changesMatchStates() async {
        await propertyCheck(count: 200, input: Gen.uint64()) { seed in
            await recordingThrows {
                var generator = SplitMix64(seed: seed)
                var state = try Self.snapshot(&generator, index: 1)
                var kept = ServiceEndpoints(state)
                for index in 2...8 {
                    let next = try Self.snapshot(&generator, index: UInt64(index))
                    kept.apply(state.changes(to: next))
                    state = next
                    let expected = ServiceEndpoints(state).endpoints
                    var seen = Set<String>()
                    let byHand = try state.healthy.map { try $0.endpoint() }.filter { seen.insert($0.address).inserted }
                    #expect(kept.endpoints == expected)
                    #expect(expected == byHand)
                }
            }
        }
    }
}
