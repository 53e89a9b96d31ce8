import Foundation
import ShoalRedis
import Testing

/// The ACL rules the operations article prints are the ones the restricted-user test run
/// uses: the article's two rule lines are ``RedisACL``'s lists, word for word.
@Suite("RedisACL and the article that lists its rules")
struct RedisACLTests {
    static let article = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/ShoalRedis/ShoalRedis.docc/RunningRedisForShoal.md")

    @Test("the article's ACL SETUSER and sentinel user lines hold exactly RedisACL's rules")
    func articleMatches() throws {
        let text = try String(contentsOf: Self.article, encoding: .utf8)
        let lines = text.split(separator: "\n").map(String.init)
        let data = try #require(lines.first { $0.hasPrefix("ACL SETUSER shoal on >PASSWORD ") })
        let sentinel = try #require(lines.first { $0.hasPrefix("user shoal on >PASSWORD ") })
        #expect(Array(data.split(separator: " ").dropFirst(5).map(String.init)) == RedisACL.dataNodeRules)
        #expect(Array(sentinel.split(separator: " ").dropFirst(4).map(String.init)) == RedisACL.sentinelRules)
    }
}
