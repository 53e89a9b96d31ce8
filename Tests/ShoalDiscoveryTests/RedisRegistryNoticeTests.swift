import Testing

@testable import ShoalDiscovery

@Suite("Redis registry notices")
struct RedisRegistryNoticeTests {
    @Test("notices are read with the instances they name; an older shoal's names none; others are refused")
    func parsing() {
        #expect(
            RedisRegistryNotice("web 1733342000123457 1733342000123456 +w1 -w.2 +w_3")
                == RedisRegistryNotice(
                    service: "web", index: 1_733_342_000_123_457, previous: 1_733_342_000_123_456,
                    upserted: ["w1", "w_3"], removed: ["w.2"]))
        #expect(RedisRegistryNotice("web 12") == RedisRegistryNotice(service: "web", index: 12, previous: nil))
        #expect(RedisRegistryNotice("web") == nil)
        #expect(RedisRegistryNotice("web 1.7e+15") == nil)
        #expect(RedisRegistryNotice("web 5 4 w1") == nil)
    }

    @Test("notices that follow on are merged into one read of the instances they name")
    func followingNotices() {
        let notices = [
            RedisRegistryNotice(service: "web", index: 10, previous: 9, upserted: ["a"]),
            RedisRegistryNotice(service: "web", index: 11, previous: 10, removed: ["a", "b"]),
            RedisRegistryNotice(service: "web", index: 12, previous: 11, upserted: ["b", "c"]),
        ]
        #expect(
            RedisRegistryNotice.plan(notices, from: 9, limit: 10)
                == .read(index: 12, upserted: ["b", "c"], removed: ["a"]))
        #expect(
            RedisRegistryNotice.plan(notices, from: 11, limit: 10)
                == .read(index: 12, upserted: ["b", "c"], removed: []))
        #expect(RedisRegistryNotice.plan(notices, from: 12, limit: 10) == .read(index: 12, upserted: [], removed: []))
    }

    @Test("a gap, a reset index, too many instances or nothing read yet: the whole service is read")
    func readingEverything() {
        let first = RedisRegistryNotice(service: "web", index: 10, previous: 9, upserted: ["a", "b"])
        #expect(RedisRegistryNotice.plan([first], from: 8, limit: 10) == .readAll, "notice 9 went missing")
        let reset = RedisRegistryNotice(service: "web", index: 1_733_342_000_123_456, previous: 0, upserted: ["a"])
        #expect(RedisRegistryNotice.plan([reset], from: 10, limit: 10) == .readAll, "Redis lost the index")
        #expect(RedisRegistryNotice.plan([first], from: 9, limit: 1) == .readAll)
        #expect(RedisRegistryNotice.plan([first], from: nil, limit: 10) == .readAll)
    }
}
