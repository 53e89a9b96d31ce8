import Foundation
import ServiceLifecycle
import ShoalCore
import ShoalDiscovery
import ShoalTesting
import Testing

@testable import ShoalEtcd

@Suite("EtcdRegistry on a real etcd cluster", .serialized, .timeLimit(.minutes(1)))
struct EtcdRegistryTests {
    static func instance(_ service: String, _ id: String, port: Int = 8080) throws -> ServiceInstance {
        try ServiceInstance(service: service, id: id, address: "10.0.0.1", port: port, metadata: ["v": "1"])
    }

    /// Runs `body` with a registry on `etcd` whose client and background work run meanwhile.
    static func withRegistry<T: Sendable>(
        _ etcd: EtcdCluster, endpoints: [String]? = nil, watchLinger: Duration = .seconds(60),
        _ body: @escaping @Sendable (EtcdRegistry) async throws -> T
    ) async throws -> T {
        let configuration = EtcdConfiguration(endpoints: try (endpoints ?? etcd.endpoints).map { try EtcdEndpoint($0) })
        return try await EtcdClient.withClient(configuration) { client in
            let registry = EtcdRegistry(client: client, watchLinger: watchLinger)
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    try await registry.run()
                    return nil
                }
                defer { group.cancelAll() }
                let result = try await body(registry)
                group.cancelAll()
                return result
            }
        }
    }

    @Test("register, look up, renew, set health, deregister; registering the same again changes nothing")
    func lifecycle() async throws {
        let etcd = try EtcdCluster.start()
        defer { etcd.stop() }
        try await Self.withRegistry(etcd) { registry in
            let stored = try await registry.register(try Self.instance("web", "web-1"), ttl: .seconds(10))
            #expect(stored.registeredAt > 0)
            _ = try await registry.register(try Self.instance("web", "web-2", port: 8081), ttl: .seconds(10))
            _ = try await registry.register(try Self.instance("db", "db-1"), ttl: .seconds(10))
            let first = try await registry.lookup("web")
            #expect(first.instances.map(\.id) == ["web-1", "web-2"])
            #expect(first.instances.first?.metadata == ["v": "1"])

            let again = try await registry.register(try Self.instance("web", "web-1"), ttl: .seconds(10))
            #expect(again.registeredAt == stored.registeredAt)
            #expect(try await registry.lookup("web").index == first.index, "the same registration writes nothing")
            // A changed registration is a change.
            _ = try await registry.register(try Self.instance("web", "web-1", port: 9000), ttl: .seconds(10))
            let moved = try await registry.lookup("web")
            #expect(moved.index > first.index)
            #expect(moved.instances.first?.port == 9000)

            #expect(try await registry.renew(service: "web", id: "web-1"))
            #expect(try await registry.renew(service: "web", id: "nope") == false)
            #expect(try await registry.setHealth(.critical, service: "web", id: "web-2"))
            #expect(try await registry.setHealth(.critical, service: "web", id: "nope") == false)
            #expect(try await registry.lookup("web").healthy.map(\.id) == ["web-1"])
            let summaries = try await registry.services()
            #expect(summaries.map(\.service) == ["db", "web"])
            #expect(summaries.last?.passing == 1)
            #expect(summaries.last?.critical == 1)

            #expect(try await registry.deregister(service: "web", id: "web-1"))
            #expect(try await registry.deregister(service: "web", id: "web-1") == false)
            #expect(try await registry.lookup("web").instances.map(\.id) == ["web-2"])
            await #expect(throws: DiscoveryError.self) {
                try await registry.register(try Self.instance("web", "web-3"), ttl: .milliseconds(500))
            }
        }
    }

    @Test(
        "a shared lease: Registrations' instances share one lease; one deregistered leaves the others; a lost lease is granted anew"
    )
    func sharedLease() async throws {
        let etcd = try EtcdCluster.start()
        defer { etcd.stop() }
        try await Self.withRegistry(etcd) { registry in
            let shared = EtcdSharedLeaseRegistry(registry: registry, ttl: .seconds(10))
            await #expect(throws: DiscoveryError.self) {
                try await shared.register(try Self.instance("api", "api-0"), ttl: .seconds(5))
            }
            // An instance on a lease of its own first: moving it onto the shared lease revokes
            // its own lease only.
            _ = try await registry.register(try Self.instance("api", "api-2"), ttl: .seconds(10))
            let own = try #require(try await registry.client.get(registry.key("api", "api-2"))?.lease)
            let registrations = try ["api-1", "api-2"].map {
                Registration(registry: shared, instance: try Self.instance("api", $0), ttl: .seconds(10))
            }
            _ = try await shared.register(try Self.instance("metrics", "m-1"), ttl: .seconds(10))
            let leases = try await withThrowingTaskGroup(of: Void.self) { group in
                for registration in registrations { group.addTask { try await registration.run() } }
                defer { group.cancelAll() }
                #expect(await eventually { (try? await registry.lookup("api").instances.count) == 2 })
                var leases: [Int64] = []
                for (service, id) in [("api", "api-1"), ("api", "api-2"), ("metrics", "m-1")] {
                    leases.append(try await registry.client.get(registry.key(service, id))?.lease ?? 0)
                }
                return leases
            }
            #expect(Set(leases) == [try #require(shared.leaseID)], "\(leases)")
            #expect(try await registry.client.keepAlive(lease: own) == nil, "the instance's own lease was revoked")
            // The Registrations deregistered their instances when cancelled; the lease stays.
            #expect(try await registry.lookup("api").instances.isEmpty)
            #expect(try await registry.lookup("metrics").instances.map(\.id) == ["m-1"])
            #expect(try await shared.renew(service: "metrics", id: "m-1"))
            // Through the registry (the HTTP API), too, only the key goes.
            _ = try await shared.register(try Self.instance("metrics", "m-2"), ttl: .seconds(10))
            #expect(try await registry.deregister(service: "metrics", id: "m-2"))
            #expect(try await registry.lookup("metrics").instances.map(\.id) == ["m-1"])

            // etcd loses the lease (as when the process stalls past its TTL): every key goes
            // at once; renewals say so, and registering again grants a new lease.
            let first = try #require(shared.leaseID)
            #expect(try await registry.client.revokeLease(first))
            #expect(try await registry.lookup("metrics").instances.isEmpty)
            #expect(try await shared.renew(service: "metrics", id: "m-1") == false)
            _ = try await shared.register(try Self.instance("metrics", "m-1"), ttl: .seconds(10))
            #expect(shared.leaseID != nil && shared.leaseID != first)
            #expect(try await registry.lookup("metrics").instances.map(\.id) == ["m-1"])
        }
    }

    @Test("an instance that is not renewed expires, and watchers see it go")
    func expiry() async throws {
        let etcd = try EtcdCluster.start()
        defer { etcd.stop() }
        try await Self.withRegistry(etcd) { registry in
            _ = try await registry.register(try Self.instance("api", "api-1"), ttl: .seconds(2))
            _ = try await registry.register(try Self.instance("api", "api-2"), ttl: .seconds(30))
            var snapshots = registry.subscribe("api").makeAsyncIterator()
            let first = await snapshots.next()
            #expect(first?.instances.map(\.id) == ["api-1", "api-2"])
            let expired = await snapshots.next()
            #expect(expired?.instances.map(\.id) == ["api-2"])
            #expect(try await registry.lookup("api").instances.map(\.id) == ["api-2"])
        }
    }

    @Test("a watcher on another registry sees registrations, health changes and deregistrations, in order")
    func watchFromAnotherProcess() async throws {
        let etcd = try EtcdCluster.start()
        defer { etcd.stop() }
        try await Self.withRegistry(etcd) { writer in
            try await Self.withRegistry(etcd) { reader in
                _ = try await writer.register(try Self.instance("pay", "pay-1"), ttl: .seconds(30))
                var snapshots = reader.subscribe("pay").makeAsyncIterator()
                guard let first = await snapshots.next() else {
                    Issue.record("the subscription ended")
                    return
                }
                #expect(first.instances.map(\.id) == ["pay-1"])
                _ = try await writer.register(try Self.instance("pay", "pay-2"), ttl: .seconds(30))
                _ = try await writer.setHealth(.critical, service: "pay", id: "pay-1")
                _ = try await writer.deregister(service: "pay", id: "pay-2")
                var last = first
                while last.instances.count != 1 || last.instances.first?.health != .critical {
                    guard let next = await snapshots.next() else {
                        Issue.record("the subscription ended")
                        return
                    }
                    #expect(next.index > last.index)
                    last = next
                }
                #expect(last.instances.map(\.id) == ["pay-1"])
            }
        }
    }

    @Test("a watch is told the service once, then each change alone; a blocking query gets the changes since its index")
    func watchSendsChanges() async throws {
        let etcd = try EtcdCluster.start()
        defer { etcd.stop() }
        try await Self.withRegistry(etcd) { writer in
            try await Self.withRegistry(etcd) { reader in
                for n in 0..<20 {
                    _ = try await writer.register(try Self.instance("pay", "pay-\(n)"), ttl: .seconds(30))
                }
                var events = reader.watch("pay").makeAsyncIterator()
                guard case .snapshot(let first)? = await events.next() else {
                    Issue.record("the first event is not the service")
                    return
                }
                #expect(first.instances.count == 20)
                _ = try await writer.register(try Self.instance("pay", "pay-new"), ttl: .seconds(30))
                guard case .change(let added)? = await events.next() else {
                    Issue.record("expected a change")
                    return
                }
                #expect(added.upserted.map(\.id) == ["pay-new"] && added.removed.isEmpty)
                _ = try await writer.deregister(service: "pay", id: "pay-3")
                guard case .change(let removed)? = await events.next() else {
                    Issue.record("expected a change")
                    return
                }
                #expect(removed.removed == ["pay-3"] && removed.upserted.isEmpty && removed.index > added.index)

                let since = try await reader.changes("pay", after: first.index, wait: .seconds(5), clock: SystemClock())
                guard case .change(let both) = since else {
                    Issue.record("the changes since the first index are kept: \(since)")
                    return
                }
                #expect(both.upserted.map(\.id) == ["pay-new"] && both.removed == ["pay-3"])
            }
        }
    }

    @Test(
        "a service stays followed for the linger after its last watcher: a blocking query that fell behind gets the changes, not the whole service"
    )
    func lingers() async throws {
        let etcd = try EtcdCluster.start()
        defer { etcd.stop() }
        try await Self.withRegistry(etcd) { writer in
            try await Self.withRegistry(etcd, watchLinger: .seconds(1)) { reader in
                for n in 0..<3 {
                    _ = try await writer.register(try Self.instance("lin", "lin-\(n)"), ttl: .seconds(30))
                }
                let known: UInt64
                do {
                    var events = reader.watch("lin").makeAsyncIterator()
                    guard case .snapshot(let first)? = await events.next() else {
                        Issue.record("the first event is not the service")
                        return
                    }
                    known = first.index
                }  // the only watcher is gone
                #expect(reader.isFollowed("lin"))
                _ = try await writer.register(try Self.instance("lin", "lin-new"), ttl: .seconds(30))
                #expect(try await eventually(within: 5) { (try await reader.lookup("lin")).instances.count == 4 })
                let since = try await reader.changes("lin", after: known, wait: .seconds(5), clock: SystemClock())
                guard case .change(let change) = since else {
                    Issue.record("the changes since the watcher left are kept: \(since)")
                    return
                }
                #expect(change.upserted.map(\.id) == ["lin-new"])
                #expect(await eventually(within: 5) { !reader.isFollowed("lin") }, "forgotten after the linger")
            }
        }
    }

    @Test("a watcher whose history was compacted while its member was down reads again and misses no instance")
    func watchAcrossCompaction() async throws {
        let etcd = try EtcdCluster.start(members: 3)
        defer { etcd.stop() }
        let configuration = EtcdConfiguration(endpoints: try etcd.endpoints.map { try EtcdEndpoint($0) })
        // The watcher reaches member 0 only; the writer, the others.
        try await Self.withRegistry(etcd, endpoints: [etcd.endpoints[0]]) { reader in
            try await EtcdClient.withClient(
                EtcdConfiguration(endpoints: Array(configuration.endpoints[1...]))
            ) { writerClient in
                let writer = EtcdRegistry(client: writerClient)
                _ = try await writer.register(try Self.instance("orders", "o-1"), ttl: .seconds(60))
                var snapshots = reader.subscribe("orders").makeAsyncIterator()
                let first = await snapshots.next()
                #expect(first?.instances.map(\.id) == ["o-1"])
                etcd.kill(0)
                _ = try await writer.register(try Self.instance("orders", "o-2"), ttl: .seconds(60))
                _ = try await writer.register(try Self.instance("orders", "o-3"), ttl: .seconds(60))
                _ = try await writer.deregister(service: "orders", id: "o-1")
                let last = try await writerClient.put("unrelated", "x")
                try await writerClient.compact(upTo: last)
                try etcd.restart(0)
                var seen: ServiceSnapshot?
                while seen?.instances.map(\.id) != ["o-2", "o-3"] {
                    guard let next = await snapshots.next() else {
                        Issue.record("the subscription ended")
                        return
                    }
                    seen = next
                }
                #expect(try await reader.lookup("orders").instances.map(\.id) == ["o-2", "o-3"])
            }
        }
    }
}

@Suite("EtcdServiceView: a watched service from reads and events")
struct EtcdServiceViewTests {
    static func keyValue(_ id: String, port: Int = 1, revision: Int64, create: Int64? = nil) -> EtcdKeyValue {
        let json =
            #"{"address":"h","health":"passing","metadata":{},"port":\#(port),"registeredAt":1,"ttlMilliseconds":1000,"weight":1,"writtenAt":1}"#
        return EtcdKeyValue(
            key: Array("r/services/s/\(id)".utf8), value: Array(json.utf8), createRevision: create ?? revision,
            modRevision: revision, version: 1, lease: 0)
    }

    static func put(_ id: String, port: Int = 1, revision: Int64) -> EtcdEvent {
        EtcdEvent(kind: .put, keyValue: keyValue(id, port: port, revision: revision))
    }

    static func delete(_ id: String, revision: Int64) -> EtcdEvent {
        EtcdEvent(
            kind: .delete,
            keyValue: EtcdKeyValue(
                key: Array("r/services/s/\(id)".utf8), value: [], createRevision: 0, modRevision: revision, version: 0,
                lease: 0))
    }

    @Test("events the read already holds are skipped; events held before the read are applied after it")
    func ordering() {
        var view = EtcdServiceView(service: "s", folder: "r/services/s/")
        // The watch delivers events before the read's answer arrives.
        let changed1 = view.apply([Self.put("a", revision: 5), Self.delete("a", revision: 6)], through: 6)
        #expect(changed1 == nil)
        let changed2 = view.apply([Self.put("b", revision: 9)], through: 9)
        #expect(changed2 == nil)
        // The read was made at revision 8: "a" came and went before it, "b" after.
        let changed3 = view.load([Self.keyValue("c", revision: 7)], at: 8)
        #expect(changed3)
        #expect(view.snapshot.instances.map(\.id) == ["b", "c"])
        #expect(view.snapshot.index == 9)
        // An older event changes nothing; a delete of an unknown instance neither.
        let changed4 = view.apply([Self.put("c", port: 2, revision: 7)], through: 7)
        #expect(changed4 == nil)
        let changed5 = view.apply([Self.delete("zz", revision: 10)], through: 10)
        #expect(changed5 == nil)
        let changed6 = view.apply([Self.put("c", port: 3, revision: 11)], through: 11)
        #expect(changed6?.upserted.map(\.port) == [3] && changed6?.removed == [] && changed6?.index == 11)
        #expect(view.snapshot.instances.first { $0.id == "c" }?.port == 3)
        // An older read than what is applied is ignored.
        let changed7 = view.load([], at: 10)
        #expect(changed7 == false)
        #expect(view.snapshot.instances.count == 2)
    }

    @Test("a record that is not a registration is left out")
    func damagedRecord() {
        var view = EtcdServiceView(service: "s", folder: "r/services/s/")
        let damaged = EtcdKeyValue(
            key: Array("r/services/s/x".utf8), value: Array("not json".utf8), createRevision: 2, modRevision: 2,
            version: 1, lease: 0)
        let changed8 = view.load([damaged, Self.keyValue("ok", revision: 3)], at: 3)
        #expect(changed8)
        #expect(view.snapshot.instances.map(\.id) == ["ok"])
    }
}
