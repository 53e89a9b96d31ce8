import Foundation
import GRPCCore
import ShoalEtcd
import ShoalTesting
import Synchronization
import Testing

@Suite("EtcdClient against real etcd", .serialized, .timeLimit(.minutes(1)))
struct EtcdClientTests {
    static func configuration(_ cluster: EtcdCluster) throws -> EtcdConfiguration {
        EtcdConfiguration(endpoints: try cluster.endpoints.map { try EtcdEndpoint($0) })
    }

    @Test("put, get, list a prefix, delete; leases expire and take their keys")
    func keysAndLeases() async throws {
        let etcd = try EtcdCluster.start()
        defer { etcd.stop() }
        try await EtcdClient.withClient(try Self.configuration(etcd)) { client in
            let written = try await client.put("app/a", "1")
            try await client.put("app/b", "2")
            try await client.put("apq", "outside the prefix")
            let a = try #require(try await client.get("app/a"))
            #expect(a.stringValue == "1")
            #expect(a.createRevision == written)
            #expect(try await client.get("app/none") == nil)
            let (listed, revision) = try await client.list(prefix: "app/")
            #expect(listed.map(\.keyString) == ["app/a", "app/b"])
            #expect(revision >= written + 1)
            #expect(try await client.delete("app/a") == 1)
            #expect(try await client.delete("app/a") == 0)

            let lease = try await client.grantLease(ttl: 2)
            #expect(lease.ttl >= 2)
            try await client.put("app/leased", "x", lease: lease.id)
            #expect(try await client.keepAlive(lease: lease.id) != nil)
            #expect(try await client.timeToLive(lease: lease.id) != nil)
            #expect(try await client.revokeLease(lease.id))
            #expect(try await client.get("app/leased") == nil)
            #expect(try await client.keepAlive(lease: lease.id) == nil)
            #expect(try await client.revokeLease(lease.id) == false)

            let short = try await client.grantLease(ttl: 1)
            try await client.put("app/short", "y", lease: short.id)
            #expect(
                await eventually(within: 10) { (try? await client.get("app/short")) == .some(nil) },
                "a lease that is not kept alive expires, and its key goes with it")
        }
    }

    @Test("a thousand calls on one connection: etcd's pings (one per request) never make it close")
    func manyCallsOneConnection() async throws {
        let etcd = try EtcdCluster.start()
        defer { etcd.stop() }
        try await EtcdClient.withClient(try Self.configuration(etcd)) { client in
            for index in 0..<1000 { try await client.put("many/\(index % 10)", "\(index)") }
            // Without HTTP2PingAnswerer, swift-nio-http2 closed the connection after 200 pings
            // in 30 s, and the calls on it failed.
            #expect(client.unavailableTries == 0)
        }
    }

    @Test("waitForDeletion: returns for a key deleted before its watch began, and waits for one still there")
    func waitForDeletion() async throws {
        let etcd = try EtcdCluster.start()
        defer { etcd.stop() }
        try await EtcdClient.withClient(try Self.configuration(etcd)) { client in
            let made = try await client.put("line/a", "")
            let (_, readAt) = try await client.list(prefix: "line/")
            #expect(try await client.delete("line/a") == 1)
            // Deleted between the read and the watch: the watch starts after the deletion.
            try await client.waitForDeletion(of: "line/a", createRevision: made, readAt: readAt)

            let again = try await client.put("line/b", "")
            let (_, readAgain) = try await client.list(prefix: "line/")
            try await client.put("elsewhere", "a write after the read")
            let returned = Recorder<Bool>()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await client.waitForDeletion(of: "line/b", createRevision: again, readAt: readAgain)
                    returned.append(true)
                }
                try await Task.sleep(for: .milliseconds(300))
                #expect(returned.count == 0, "the key is still there")
                try await client.delete("line/b")
                try await group.waitForAll()
            }
            #expect(returned.count == 1)
        }
    }

    @Test("a watch sees changes in order, resumes on another member when its member is killed, and misses none")
    func watchAcrossMemberLoss() async throws {
        let etcd = try EtcdCluster.start(members: 3)
        defer { etcd.stop() }
        try await EtcdClient.withClient(try Self.configuration(etcd)) { client in
            let start = try await client.put("svc/seed", "0")
            let seen = Recorder<String>()
            let watcher = Task {
                try await client.watch(prefix: "svc/", from: start + 1) { events, _ in
                    for event in events { seen.append(event.kind == .put ? event.keyValue.stringValue : "deleted") }
                    return seen.values.last == "20" ? .stop : .continue
                }
            }
            for value in 1...10 { try await client.put("svc/k", String(value)) }
            #expect(await eventually(within: 10) { seen.count >= 10 })
            // Kill the member the client (and so the watch) uses.
            etcd.kill(client.currentMember)
            for value in 11...20 {
                _ = try await retrying { try await client.put("svc/k", String(value)) }
            }
            try await watcher.value
            // A put repeated after a lost answer (`retrying`) is a second write of the same
            // value: seen twice in a row, and in order.
            let distinct = seen.values.enumerated().filter {
                $0.offset == 0 || seen.values[$0.offset - 1] != $0.element
            }
            #expect(distinct.map(\.element) == (1...20).map(String.init))
        }
    }

    @Test("a watch from a compacted revision fails as compacted, naming the oldest revision kept")
    func watchFromCompactedRevision() async throws {
        let etcd = try EtcdCluster.start()
        defer { etcd.stop() }
        try await EtcdClient.withClient(try Self.configuration(etcd)) { client in
            let first = try await client.put("c/k", "1")
            try await client.put("c/k", "2")
            let last = try await client.put("c/k", "3")
            try await client.compact(upTo: last)
            await #expect {
                try await client.watch(prefix: "c/", from: first) { _, _ in .stop }
            } throws: { error in
                (error as? EtcdError)?.code == .compacted && (error as? EtcdError)?.compactRevision == last
            }
        }
    }

    @Test("reads and lease keep-alives go on through a leader's death; writes after it succeed")
    func leaderKilled() async throws {
        let etcd = try EtcdCluster.start(members: 3)
        defer { etcd.stop() }
        try await EtcdClient.withClient(try Self.configuration(etcd)) { client in
            try await client.put("l/k", "before")
            let lease = try await client.grantLease(ttl: 10)
            let leader = try etcd.leader()
            etcd.kill(leader)
            // Idempotent calls are tried on the other members: no error reaches the caller.
            #expect(try await client.get("l/k")?.stringValue == "before")
            #expect(try await client.keepAlive(lease: lease.id) != nil)
            try await retrying { try await client.put("l/k", "after") }
            #expect(try await client.get("l/k")?.stringValue == "after")
        }
    }

    @Test(
        "endpoints: only http and https URLs with a host",
        arguments: [
            "127.0.0.1:2379", "ftp://h:1", "http://", "http://h:0", "http://h:70000", "http://h/path", "http://u@h:1",
        ])
    func badEndpoints(url: String) {
        #expect(throws: EtcdError.self) { try EtcdEndpoint(url) }
    }

    @Test("endpoints: a list, default port 2379, IPv6")
    func endpoints() throws {
        let list = try EtcdEndpoint.list("http://a:1, https://b ,http://[::1]:3")
        #expect(list.map(\.description) == ["http://a:1", "https://b:2379", "http://[::1]:3"])
        #expect(list.map(\.secure) == [false, true, false])
        #expect(throws: EtcdError.self) { try EtcdEndpoint.list(" , ") }
    }
}

/// Retries a write that failed as unavailable (a leader change may refuse it) for up to 30 s:
/// what a caller of a non-idempotent call does. An election that takes 1–2 s alone took more
/// than the 20 tries of 200 ms this allowed before, beside the other etcd suites' clusters.
@discardableResult
func retrying<T>(_ body: () async throws -> T) async throws -> T {
    let giveUp = ContinuousClock.now + .seconds(30)
    while true {
        do {
            return try await body()
        } catch let error as EtcdError where error.code == .unavailable && ContinuousClock.now < giveUp {
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}

/// Values appended from a watch's handler and read by the test.
final class Recorder<Value: Sendable>: Sendable {
    private let storage = Mutex<[Value]>([])
    func append(_ value: Value) { storage.withLock { $0.append(value) } }
    var values: [Value] { storage.withLock { $0 } }
    var count: Int { values.count }
    /// Appends `value`; returns how many values there are then.
    func appendReturningCount(_ value: Value) -> Int {
        storage.withLock {
            $0.append(value)
            return $0.count
        }
    }
}

extension Recorder where Value: Equatable {
    /// Removes the first `value`.
    func remove(_ value: Value) {
        storage.withLock { values in values.firstIndex(of: value).map { _ = values.remove(at: $0) } }
    }
}
