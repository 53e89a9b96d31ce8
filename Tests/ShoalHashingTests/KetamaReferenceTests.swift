import ShoalCore
import Testing

@testable import ShoalHashing

/// Ketama must put every key exactly where libmemcached and libketama do.
@Suite("Ketama matches libmemcached and libketama")
struct KetamaReferenceTests {
    /// The sets the parameterised tests below run over. A file that is missing or does not
    /// parse gives none here, which swift-testing reports as skipped, so ``vectorsLoad()``
    /// checks the files themselves.
    static let sets = (try? ReferenceVectors.serverSets().map(\.name)) ?? []

    @Test("the reference vectors are there and parse")
    func vectorsLoad() throws {
        let sets = try ReferenceVectors.serverSets()
        #expect(sets.count >= 5, "\(sets.count) server sets in sets.txt")
        #expect(Self.sets == sets.map(\.name))
        #expect(try ReferenceVectors.keys().count == 10_000)
    }

    @Test("libmemcached weighted ketama, 10k keys", arguments: sets)
    func libmemcached(set: String) throws {
        try check(set: set, flavor: .libmemcached, directory: "ketama")
    }

    @Test("libketama classic, 10k keys", arguments: sets)
    func classic(set: String) throws {
        try check(set: set, flavor: .classic, directory: "ketama-classic")
    }

    func check(set: String, flavor: KetamaRing.Flavor, directory: String) throws {
        let servers = try #require(try ReferenceVectors.serverSets().first { $0.name == set }).servers
        let expected = try ReferenceVectors.placements("\(directory)/\(set).csv")
        let keys = try ReferenceVectors.keys()
        #expect(expected.count == 10_000)
        #expect(expected.map(\.key) == keys)

        let ring = try KetamaRing(nodes: servers, flavor: flavor)
        var mismatches: [String] = []
        for (key, node) in expected where ring.node(for: key).address != node {
            mismatches.append("\(key) → \(ring.node(for: key).address), reference says \(node)")
        }
        let differing = mismatches.count
        #expect(differing == 0, "\(differing) of 10000 keys differ, e.g. \(mismatches.prefix(3))")
    }

    @Test("point counts follow the reference formulas, including their float rounding")
    func pointCounts() throws {
        // Expected counts come from the C expressions of libmemcached and libketama compiled
        // with gcc on x86_64; both sets are also in the 10k-key vectors.
        let three = try ["a:11211=21", "b:11211=10", "c:11211=9"].map { try Endpoint(parsing: $0) }
        #expect(KetamaRing.pointCounts(for: three, flavor: .libmemcached) == [252, 120, 108])
        #expect(KetamaRing.pointCounts(for: three, flavor: .classic) == [248, 120, 108])
        let five = try ["a:1=1", "b:1=6", "c:1=6", "d:1=6", "e:1=6"].map { try Endpoint(parsing: $0) }
        #expect(KetamaRing.pointCounts(for: five, flavor: .libmemcached) == [28, 188, 188, 188, 188])
        #expect(KetamaRing.pointCounts(for: five, flavor: .classic) == [32, 192, 192, 192, 192])
        let equal = try (1...4).map { try Endpoint(host: "10.0.0.\($0)", port: 11211) }
        #expect(KetamaRing.pointCounts(for: equal, flavor: .libmemcached) == [160, 160, 160, 160])
        #expect(KetamaRing.pointCounts(for: equal, flavor: .classic) == [160, 160, 160, 160])
    }

    @Test("labels: host-i on port 11211, host:port-i otherwise; classic always host:port-i")
    func labels() throws {
        let standard = try Endpoint(parsing: "10.0.0.1:11211")
        let other = try Endpoint(parsing: "10.0.0.1:11212")
        #expect(KetamaRing.label(for: standard, index: 3, flavor: .libmemcached) == "10.0.0.1-3")
        #expect(KetamaRing.label(for: other, index: 0, flavor: .libmemcached) == "10.0.0.1:11212-0")
        #expect(KetamaRing.label(for: standard, index: 3, flavor: .classic) == "10.0.0.1:11211-3")
    }
}
