import Foundation
import ShoalTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A three-member etcd cluster on hosts of a network lab, with `shoal lock --etcd` clients on
/// two more, and one member cut off with a client beside it.
@Suite("etcd across network hosts", .serialized, .timeLimit(.minutes(2)))
struct EtcdPartitionTests {
    @Test(
        "a minority cut off: its client gets errors, never a grant; the majority's client goes on; healed, both go on")
    func minorityPartition() async throws {
        let lab = try NetworkLab(hosts: 5)
        defer { lab.tearDown() }
        let etcd = try EtcdCluster.start(on: [lab.host(0), lab.host(1), lab.host(2)])
        defer { etcd.stop() }
        let all = etcd.endpoints.joined(separator: ",")

        func lock(from host: Int, endpoints: String, wait: String) async throws -> (status: Int32?, said: String) {
            let output = ShoalBinary.scratchFile("etcd-lock")
            defer { try? FileManager.default.removeItem(atPath: output) }
            let process = try lab.host(host).spawn(
                ShoalBinary.path,
                ["lock", "--etcd", endpoints, "--name", "job", "--ttl", "2s", "--wait", wait, "--", "true"],
                standardError: output)
            _ = await process.exited(within: 40)
            if process.isRunning { process.kill() }
            return (process.exitCode, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
        }

        // Before: both sides take the lock.
        #expect(try await lock(from: 3, endpoints: etcd.endpoints[0], wait: "5s").status == 0)
        #expect(try await lock(from: 4, endpoints: all, wait: "5s").status == 0)

        // Member 0 and client host 3 on one side, the two other members and host 4 on the other.
        try lab.partition([0, 3], from: [1, 2, 4])
        let cut = try await lock(from: 3, endpoints: etcd.endpoints[0], wait: "3s")
        #expect(cut.status == 69, "the minority's client: \(cut.said)")
        #expect(!cut.said.isEmpty)
        // The majority's client, given every member, leaves the unreachable one and goes on.
        let majority = try await lock(from: 4, endpoints: all, wait: "5s")
        #expect(majority.status == 0, "the majority's client: \(majority.said)")

        try lab.heal()
        #expect(
            await eventually(within: 20) {
                (try? await lock(from: 3, endpoints: etcd.endpoints[0], wait: "5s").status) == 0
            }, "the member cut off catches up and serves again")
    }
}
