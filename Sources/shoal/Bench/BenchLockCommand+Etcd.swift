import Foundation
import ShoalCore
import ShoalEtcd
import ShoalLock

extension BenchLockCommand {
    /// The same measurement on etcd: each client an ``EtcdLock`` on an ``EtcdClient`` of its
    /// own (its own connections, as a separate process would have); or, with
    /// `--raw-transactions`, etcd's own rate for one transaction (the reference a lock cycle,
    /// two writes, a transaction and a delete, is measured against).
    func runOnEtcd(_ configuration: EtcdConfiguration) async throws {
        guard (1...256).contains(clients) else { throw UsageError("--clients must be in 1...256, not \(clients)") }
        let hold = try DurationParsing.parse(hold, flag: "--hold")
        let duration = try DurationParsing.parse(duration, flag: "--duration")
        guard duration > .zero else { throw UsageError("--duration must be positive") }
        let clock = SystemClock()
        let etcds: [EtcdClient]
        do {
            etcds = try (0..<clients).map { _ in try EtcdClient(configuration, clock: clock) }
        } catch {
            throw UsageError("--etcd: \(error)")
        }
        let name = name
        let rawTransactions = rawTransactions
        let results = try await withThrowingTaskGroup(of: ClientResult?.self) { group in
            for etcd in etcds {
                group.addTask {
                    try await etcd.run(); return nil
                }
            }
            defer { for etcd in etcds { etcd.shutdown() } }
            let cycles = try await withThrowingTaskGroup(of: ClientResult.self) { cycles in
                for (index, etcd) in etcds.enumerated() {
                    cycles.addTask {
                        let locks = EtcdLock(client: etcd)
                        let key = "shoal-bench/raw/\(index)"
                        // One untimed cycle opens the connection.
                        if rawTransactions {
                            try await Self.rawCycle(etcd, key: key)
                        } else {
                            _ = try await locks.release(
                                try await locks.acquire(name, ttl: .seconds(10), wait: .seconds(30)))
                        }
                        return ClientResult()
                    }
                }
                for try await _ in cycles {}
                let start = clock.now()
                let end = start + duration
                for (index, etcd) in etcds.enumerated() {
                    cycles.addTask {
                        let locks = EtcdLock(client: etcd)
                        let key = "shoal-bench/raw/\(index)"
                        var result = ClientResult()
                        while clock.now() < end {
                            let asked = clock.now()
                            if rawTransactions {
                                try await Self.rawCycle(etcd, key: key)
                                result.waits.append(clock.now() - asked)
                            } else {
                                let lease = try await locks.acquire(name, ttl: .seconds(10), wait: .seconds(30))
                                result.waits.append(clock.now() - asked)
                                if hold > .zero { try await Self.hold(for: hold, clock: clock) }
                                _ = try await locks.release(lease)
                            }
                            result.cycles += 1
                        }
                        return result
                    }
                }
                var all: [ClientResult] = []
                for try await result in cycles { all.append(result) }
                return (all, clock.now() - start)
            }
            return cycles
        }
        let report = BenchLockReport(clients: results.0, elapsed: results.1, hold: hold)
        var output = StandardOutput()
        try output.append(json ? report.json : report.text)
        try output.flush()
    }

    /// One of the transactions a lock is made of, alone: it compares the key's create
    /// revision and writes (puts the key when absent, deletes it when there), so each is a
    /// write through etcd's log, as a grant is.
    static func rawCycle(_ etcd: EtcdClient, key: String) async throws {
        let key = Data(key.utf8)
        var request = Etcdserverpb_TxnRequest()
        request.compare = [EtcdRequests.createRevision(of: key, is: 0)]
        request.success = [EtcdRequests.put(key, Data("x".utf8))]
        request.failure = [EtcdRequests.delete(key)]
        // Repeatable for a benchmark: a repeat writes again, as the first try did.
        _ = try await etcd.txn(request, idempotent: true)
    }
}
