import Foundation
import ShoalRESP
import ShoalTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A lock holder on one host paused (SIGSTOP) past its time-to-live while a holder on
/// another host takes the lock: fencing is what keeps the resource safe.
@Suite("A paused lock holder, across network hosts", .serialized, .timeLimit(.minutes(2)))
struct PausedHolderTests {
    @Test("the resource rejects the paused holder's write when it resumes, and shoal lock exits 76")
    func pausedHolder() async throws {
        let lab = try SentinelLab(hosts: 9)
        defer { lab.tearDown() }
        let cluster = lab.cluster
        let resource = try RedisServer.start(on: lab.host(8))
        let primary = try cluster.primary()
        func held(_ name: String) -> Bool { (try? primary.command("EXISTS", "shoal:lock:\(name)")) == .integer(1) }

        // A holder that reads the counter, then takes 1.5 s to write it back, on a 1 s lease.
        let paused = try FencedCounterClients(
            count: 1, on: [lab.host(6)], lockURL: cluster.url, resource: resource, lock: "report",
            arguments: ["--turns", "1", "--ttl", "1s", "--write-delay", "1500ms"])
        // Paused once it has read (its fenced read left its token on the resource), so it is
        // its write that meets the newer holder's token.
        #expect(await eventually(within: 10) { (try? resource.command("EXISTS", "report:fence")) == .integer(1) })
        #expect(held("report"))
        paused.signal(SIGSTOP)
        let next = try FencedCounterClients(
            count: 1, on: [lab.host(7)], lockURL: cluster.url, resource: resource, lock: "report",
            arguments: ["--turns", "1", "--ttl", "5s", "--wait", "20s"])
        #expect(await next.finished(within: 30), "\(next.errors())")
        paused.signal(SIGCONT)
        #expect(await paused.finished(within: 30), "\(paused.errors())")
        let stale = try #require(paused.turns().first, "\(paused.errors())")
        let newer = try #require(next.turns().first, "\(next.errors())")
        #expect(newer.outcome == "written")
        #expect(stale.outcome == "rejected", "the paused holder's turn: \(stale)")
        #expect((stale.token ?? .max) < (newer.token ?? 0))
        #expect(try resource.command("GET", "report").string == "1")

        // shoal lock, paused past its lease while another host takes the lock.
        let output = ShoalBinary.scratchFile("lock")
        defer { try? FileManager.default.removeItem(atPath: output) }
        let holder = try lab.host(6).spawn(
            ShoalBinary.path, ["lock", "--redis", cluster.url, "--name", "job", "--ttl", "1s", "--", "sleep", "30"],
            standardError: output)
        #expect(await eventually(within: 10) { held("job") })
        holder.signal(SIGSTOP)
        let taker = try lab.host(7).spawn(
            ShoalBinary.path, ["lock", "--redis", cluster.url, "--name", "job", "--ttl", "1s", "--wait", "20s", "--", "true"])
        #expect(await taker.exited(within: 30))
        #expect(taker.exitCode == 0)
        holder.signal(SIGCONT)
        #expect(await holder.exited(within: 20))
        #expect(holder.exitCode == 76, "shoal lock said: \((try? String(contentsOfFile: output, encoding: .utf8)) ?? "")")
    }
}
