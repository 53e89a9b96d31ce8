import Foundation
import ShoalTesting

/// `shoal fenced-counter` processes on lab hosts, taking one lock in turns and adding one to
/// a counter on a separate Redis with fenced reads and writes; and the audit of what they did.
final class FencedCounterClients {
    /// One line a client printed.
    struct Turn: Decodable {
        var turn: Int
        var token: UInt64?
        var read: Int?
        var outcome: String
        var grantedAt: Int64?
        var error: String?
    }

    private let processes: [SpawnedProcess]
    private let outputs: [String]

    /// Starts `count` clients, spread over `hosts` in turn.
    init(
        count: Int, on hosts: [TestHost], lockURL: String, resource: RedisServer, lock: String = "counter",
        arguments: [String] = []
    ) throws {
        var processes: [SpawnedProcess] = []
        var outputs: [String] = []
        for index in 0..<count {
            let output = ShoalBinary.scratchFile("client\(index)")
            let host = hosts[index % hosts.count]
            processes.append(
                try host.spawn(
                    ShoalBinary.path,
                    [
                        "fenced-counter", "--redis", lockURL, "--resource", resource.defaultUserURL, "--name", lock, "--key", lock,
                    ] + arguments,
                    standardOutput: output, standardError: output + ".err"))
            outputs.append(output)
        }
        self.processes = processes
        self.outputs = outputs
    }

    deinit {
        for process in processes { process.kill() }
        for output in outputs {
            try? FileManager.default.removeItem(atPath: output)
            try? FileManager.default.removeItem(atPath: output + ".err")
        }
    }

    /// Sends `number` to every client (SIGSTOP pauses them, SIGCONT lets them go on).
    func signal(_ number: Int32) {
        for process in processes { process.signal(number) }
    }

    /// Waits for every client to exit; `false` if one is still running after `seconds`.
    func finished(within seconds: Double) async -> Bool {
        for process in processes where !(await process.exited(within: seconds)) { return false }
        return true
    }

    /// Every turn every client printed so far.
    func turns() -> [Turn] {
        let decoder = JSONDecoder()
        return outputs.flatMap { path -> [Turn] in
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            return text.split(whereSeparator: \.isNewline).compactMap { try? decoder.decode(Turn.self, from: Data($0.utf8)) }
        }
    }

    /// What the clients printed on standard error, for a failure's message.
    func errors() -> String {
        outputs.map { (try? String(contentsOfFile: $0 + ".err", encoding: .utf8)) ?? "" }.joined()
    }

    /// What the resource accepted, checked against what the clients did.
    struct Audit: CustomStringConvertible {
        /// Writes the resource accepted, in the order it accepted them (by the value read).
        var written: [Turn]
        var rejected: Int
        var failed: Int
        /// Accepted writes whose token was not higher than the one before.
        var outOfOrder: Int
        /// Accepted writes minus the counter's value (updates lost), or reads that two
        /// accepted writes share.
        var lostUpdates: Int
        var counter: Int

        var description: String {
            "\(written.count) accepted writes, \(rejected) rejected, \(failed) failed turns; counter \(counter); "
                + "\(outOfOrder) out of token order, \(lostUpdates) lost updates"
        }
    }

    func audit(_ resource: RedisServer, key: String = "counter") throws -> Audit {
        let turns = turns()
        let written = turns.filter { $0.outcome == "written" }.sorted { ($0.read ?? -1) < ($1.read ?? -1) }
        let counter = Int(try resource.command("GET", key).string ?? "0") ?? 0
        let tokens = written.compactMap(\.token)
        let outOfOrder = zip(tokens, tokens.dropFirst()).count { $0 >= $1 }
        let reads = written.compactMap(\.read)
        let sharedReads = reads.count - Set(reads).count
        return Audit(
            written: written, rejected: turns.count { $0.outcome == "rejected" },
            failed: turns.count { $0.outcome == "failed" }, outOfOrder: outOfOrder,
            lostUpdates: abs(written.count - counter) + sharedReads, counter: counter)
    }
}
