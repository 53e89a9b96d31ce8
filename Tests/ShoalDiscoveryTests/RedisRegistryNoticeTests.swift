import Testing

@testable import ShoalDiscovery

@Suite("Redis registry notices")
struct RedisRegistryNoticeTests {
    static let row = RedisRegistryNotice.Row(
        health: "passing", registeredAt: 1_733_342_000_123, expiresAt: 1_733_342_030_123,
        json: #"{"address":"10.0.0.7","note":"a\tb c"}"#)

    @Test("notices are read with the instances they carry; older forms name them or none; others are refused")
    func parsing() {
        let text =
            "web 1733342000123457 1733342000123456\n+w1\tpassing\t1733342000123\t1733342030123\t"
            + #"{"address":"10.0.0.7","note":"a\tb c"}"# + "\n-w.2"
        #expect(
            RedisRegistryNotice(text)
                == RedisRegistryNotice(
                    service: "web", index: 1_733_342_000_123_457, previous: 1_733_342_000_123_456,
                    upserted: [.init(id: "w1", row: Self.row)], removed: ["w.2"]))
        #expect(
            RedisRegistryNotice("web 1733342000123457 1733342000123456 +w1 -w.2 +w_3")
                == RedisRegistryNotice(
                    service: "web", index: 1_733_342_000_123_457, previous: 1_733_342_000_123_456,
                    upserted: [.init(id: "w1", row: nil), .init(id: "w_3", row: nil)], removed: ["w.2"]))
        #expect(RedisRegistryNotice("web 12") == RedisRegistryNotice(service: "web", index: 12, previous: nil))
        // Text beyond ASCII in the JSON, and a service name of it: cut at the separators only.
        let wide = #"{"note":"café 🐟é"}"#
        #expect(
            RedisRegistryNotice("fisch-🐟 5 4\n+ï1\tpassing\t1\t2\t" + wide + "\n\n-😀")
                == RedisRegistryNotice(
                    service: "fisch-🐟", index: 5, previous: 4,
                    upserted: [
                        .init(id: "ï1", row: .init(health: "passing", registeredAt: 1, expiresAt: 2, json: wide))
                    ],
                    removed: ["😀"]))
        #expect(RedisRegistryNotice("web  12   11") == RedisRegistryNotice(service: "web", index: 12, previous: 11))
        #expect(RedisRegistryNotice.pieces("a\tb\t\tc\td", at: 9, maxSplits: 2) == ["a", "b", "\tc\td"])
        #expect(RedisRegistryNotice("web") == nil)
        #expect(RedisRegistryNotice("web 1.7e+15") == nil)
        #expect(RedisRegistryNotice("web 5 4 w1") == nil)
        #expect(RedisRegistryNotice("web 5 4\n+w1\tpassing\tsoon\t9\t{}") == nil)
    }

    @Test("notices that follow on are merged into one change; only instances not carried are read")
    func followingNotices() {
        let notices = [
            RedisRegistryNotice(service: "web", index: 10, previous: 9, upserted: [.init(id: "a", row: Self.row)]),
            RedisRegistryNotice(service: "web", index: 11, previous: 10, removed: ["a", "b"]),
            RedisRegistryNotice(
                service: "web", index: 12, previous: 11,
                upserted: [.init(id: "b", row: nil), .init(id: "c", row: Self.row)]),
        ]
        #expect(
            RedisRegistryNotice.plan(notices, from: 9, limit: 10)
                == .apply(index: 12, carried: [.init(id: "c", row: Self.row)], toRead: ["b"], removed: ["a"]))
        #expect(
            RedisRegistryNotice.plan(notices, from: 11, limit: 10)
                == .apply(index: 12, carried: [.init(id: "c", row: Self.row)], toRead: ["b"], removed: []))
        #expect(
            RedisRegistryNotice.plan(notices, from: 12, limit: 10)
                == .apply(index: 12, carried: [], toRead: [], removed: []))
    }

    @Test("a notice that follows on and carries all it names is a change by itself; an unreadable row is a removal")
    func carriedChange() throws {
        let stored = RedisRegistryNotice.Row(
            health: "critical", registeredAt: 1_000, expiresAt: 31_000,
            json: #"{"address":"10.0.0.7","metadata":{"v":"2"},"port":8080,"ttlMilliseconds":30000,"weight":1}"#)
        let unreadable = RedisRegistryNotice.Row(health: "passing", registeredAt: 1, expiresAt: 2, json: "{}")
        let notice = RedisRegistryNotice(
            service: "web", index: 10, previous: 9,
            upserted: [.init(id: "b", row: unreadable), .init(id: "a", row: stored)], removed: ["c"])
        let (change, ttls) = try #require(notice.carriedChange(from: 9))
        #expect(change.service == "web" && change.index == 10)
        #expect(change.upserted.map(\.id) == ["a"] && change.removed.sorted() == ["b", "c"])
        let a = try #require(change.upserted.first)
        #expect(a.address == "10.0.0.7" && a.port == 8080 && a.metadata == ["v": "2"] && a.health == .critical)
        #expect(a.registeredAt == 1_000 && a.renewedAt == 1_000)
        #expect(ttls == ["a": .seconds(30)])

        #expect(notice.carriedChange(from: 8) == nil, "notice 9 went missing: the watcher reads the service")
        let naming = RedisRegistryNotice(
            service: "web", index: 10, previous: 9, upserted: [.init(id: "a", row: stored), .init(id: "d", row: nil)])
        #expect(naming.carriedChange(from: 9) == nil, "d is named, not carried: the watcher reads it")
        #expect(RedisRegistryNotice(service: "web", index: 10, previous: nil).carriedChange(from: 9) == nil)
    }

    @Test("a gap, a reset index, too many instances or nothing read yet: the whole service is read")
    func readingEverything() {
        let first = RedisRegistryNotice(
            service: "web", index: 10, previous: 9, upserted: [.init(id: "a", row: nil), .init(id: "b", row: nil)])
        #expect(RedisRegistryNotice.plan([first], from: 8, limit: 10) == .readAll, "notice 9 went missing")
        let reset = RedisRegistryNotice(
            service: "web", index: 1_733_342_000_123_456, previous: 0, upserted: [.init(id: "a", row: nil)])
        #expect(RedisRegistryNotice.plan([reset], from: 10, limit: 10) == .readAll, "Redis lost the index")
        #expect(RedisRegistryNotice.plan([first], from: 9, limit: 1) == .readAll)
        #expect(RedisRegistryNotice.plan([first], from: nil, limit: 10) == .readAll)
    }
}
