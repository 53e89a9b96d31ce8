import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Several network hosts on one machine, for tests of what crosses a network: each host is a
/// Linux network namespace with an address of its own on a private test subnet
/// (198.18.N.0/24, the range set aside for network tests), joined to the others through a
/// veth pair and a bridge. The test process reaches every host through the bridge, at
/// 198.18.N.1.
///
/// ```swift
/// let lab = try NetworkLab(hosts: 5)
/// let redis = try RedisServer.start(on: lab.host(2))
/// try lab.partition([2], from: [0, 1])   // packets between them are dropped, both ways
/// try lab.heal()
/// ```
///
/// Partitions drop packets with nftables inside the hosts' namespaces, so connections hang
/// as they do when a network fails, rather than being refused. A partition between hosts
/// leaves them reachable from the test process; ``isolate(_:)`` cuts that too. Everything
/// (the processes still running in the namespaces, the namespaces, the bridge) is removed
/// when the lab is released or ``tearDown()`` is called, and labs that a crashed test
/// process left behind are removed by the next one.
///
/// Needs root, `ip` (iproute2) and `nft` (nftables); `scripts/test` installs them. Without
/// them, creating a lab throws ``NetworkLabError`` saying what is missing.
public final class NetworkLab: Sendable {
    /// The `ip` program.
    public static let ip = ["/usr/sbin/ip", "/sbin/ip", "/bin/ip"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    } ?? "/usr/sbin/ip"
    static let nft = ["/usr/sbin/nft", "/sbin/nft"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The hosts, in the order asked for.
    public let hosts: [TestHost]
    /// The test process's own address on the lab's bridge.
    public let gateway: String
    private let bridge: String
    private let namespaces: [String]
    private let tornDown = Atomic<Bool>(false)

    private static let labsMade = Atomic<Int>(0)
    private static let namePrefix = "shoal-lab-"

    /// Makes `count` hosts.
    ///
    /// - Throws: ``NetworkLabError`` when this is not root, `ip` or `nft` is missing, or the
    ///   kernel refuses a step; the message names the step and what it printed.
    public init(hosts count: Int) throws {
        guard geteuid() == 0 else {
            throw NetworkLabError(
                "a network lab needs root (network namespaces, veth pairs, a bridge): run the tests as root, as scripts/test and CI do")
        }
        guard FileManager.default.isExecutableFile(atPath: Self.ip) else {
            throw NetworkLabError("a network lab needs ip from iproute2: apt-get install iproute2")
        }
        guard Self.nft != nil else {
            throw NetworkLabError("a network lab needs nft for partitions: apt-get install nftables (scripts/test does)")
        }
        precondition((1...200).contains(count), "a lab has 1 to 200 hosts")
        Self.removeAbandonedLabs()
        let pid = getpid()
        let serial = Self.labsMade.add(1, ordering: .relaxed).newValue
        let subnet = try Self.freeSubnet(startingAt: Int(pid) &+ serial)
        let label = String(UInt32(truncatingIfNeeded: pid), radix: 36) + String(serial, radix: 36)
        bridge = "shl\(label)b"
        gateway = "198.18.\(subnet).1"
        namespaces = (0..<count).map { "\(Self.namePrefix)\(pid)-\(serial)-\($0)" }
        hosts = namespaces.enumerated().map { TestHost(address: "198.18.\(subnet).\($0.offset + 10)", namespace: $0.element) }
        do {
            _ = try Self.output(Self.ip, ["link", "add", bridge, "type", "bridge"])
            _ = try Self.output(Self.ip, ["link", "set", bridge, "alias", "\(Self.namePrefix)\(pid)"])  // whose it is
            _ = try Self.output(Self.ip, ["addr", "add", "\(gateway)/24", "dev", bridge])
            _ = try Self.output(Self.ip, ["link", "set", bridge, "up"])
            for (index, host) in hosts.enumerated() {
                let namespace = namespaces[index]
                let outside = "shl\(label)h\(index)"
                _ = try Self.output(Self.ip, ["netns", "add", namespace])
                _ = try Self.output(Self.ip, ["link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", namespace])
                _ = try Self.output(Self.ip, ["link", "set", outside, "master", bridge, "up"])
                _ = try Self.output(Self.ip, ["-n", namespace, "addr", "add", "\(host.address)/24", "dev", "eth0"])
                _ = try Self.output(Self.ip, ["-n", namespace, "link", "set", "eth0", "up"])
                _ = try Self.output(Self.ip, ["-n", namespace, "link", "set", "lo", "up"])
                try nft(namespace, ["add", "table", "inet", "lab"])
                for (chain, hook) in [("in", "input"), ("out", "output")] {
                    try nft(
                        namespace,
                        ["add", "chain", "inet", "lab", chain, "{ type filter hook \(hook) priority 0; policy accept; }"])
                }
            }
        } catch {
            tearDown()
            throw error
        }
    }

    deinit {
        tearDown()
    }

    /// Host number `index`.
    public func host(_ index: Int) -> TestHost { hosts[index] }

    /// Cuts `group` off from `others`: packets between any host of one and any host of the
    /// other are dropped, both ways. Hosts within each side still reach each other.
    public func partition(_ group: [Int], from others: [Int]) throws {
        var dropped: [Int: [String]] = [:]
        for a in group {
            for b in others where a != b {
                dropped[a, default: []].append(hosts[b].address)
                dropped[b, default: []].append(hosts[a].address)
            }
        }
        for (index, addresses) in dropped.sorted(by: { $0.key < $1.key }) {
            try drop(in: index, addresses)
        }
    }

    /// Cuts `index` off from every other host and from the test process.
    public func isolate(_ index: Int) throws {
        try drop(in: index, hosts.indices.filter { $0 != index }.map { hosts[$0].address } + [gateway])
    }

    /// Ends every partition.
    public func heal() throws {
        for namespace in namespaces {
            try nft(namespace, ["flush", "chain", "inet", "lab", "in"])
            try nft(namespace, ["flush", "chain", "inet", "lab", "out"])
        }
    }

    /// Kills what still runs on the hosts and removes them and the bridge. Safe to call
    /// more than once.
    public func tearDown() {
        guard !tornDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for namespace in namespaces { Self.remove(namespace: namespace) }
        _ = try? Self.output(Self.ip, ["link", "del", bridge])
    }

    /// Drops, in host `index`, every packet from or to `addresses`: one `nft` call, so the
    /// cut is made at once.
    private func drop(in index: Int, _ addresses: [String]) throws {
        let set = "{ " + addresses.joined(separator: ", ") + " }"
        try nft(
            namespaces[index],
            ["add rule inet lab in ip saddr \(set) drop; add rule inet lab out ip daddr \(set) drop"])
    }

    private func nft(_ namespace: String, _ arguments: [String]) throws {
        _ = try Self.output(Self.ip, ["netns", "exec", namespace, Self.nft ?? "nft"] + arguments)
    }

    /// Kills the processes in `namespace` and deletes it (and so its end of the veth pair).
    private static func remove(namespace: String) {
        if let pids = try? output(ip, ["netns", "pids", namespace]) {
            for pid in pids.split(whereSeparator: \.isWhitespace).compactMap({ pid_t($0) }) {
                _ = kill(pid, SIGCONT)
                _ = kill(pid, SIGKILL)
            }
        }
        _ = try? output(ip, ["netns", "del", namespace])
    }

    /// Removes the namespaces (and bridges) of labs whose test process is gone.
    private static func removeAbandonedLabs() {
        guard let list = try? output(ip, ["netns", "list"]) else { return }
        for line in list.split(whereSeparator: \.isNewline) {
            let name = String(line.split(separator: " ").first ?? "")
            guard name.hasPrefix(namePrefix),
                let pid = name.dropFirst(namePrefix.count).split(separator: "-").first.flatMap({ pid_t($0) }),
                kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            remove(namespace: name)
        }
        guard let links = try? output(ip, ["-o", "link", "show", "type", "bridge"]) else { return }
        for line in links.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: " ")
            guard fields.count > 1, let alias = fields.firstIndex(of: "alias"), alias + 1 < fields.count,
                fields[alias + 1].hasPrefix(namePrefix),
                let pid = pid_t(fields[alias + 1].dropFirst(namePrefix.count)), kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            _ = try? output(ip, ["link", "del", String(fields[1].dropLast())])  // "NAME:"
        }
    }

    /// A /24 in 198.18.0.0/16 with no route on this machine yet.
    private static func freeSubnet(startingAt seed: Int) throws -> Int {
        let routes = (try? output(ip, ["-4", "route", "show"])) ?? ""
        for offset in 0..<250 {
            let subnet = (abs(seed) &+ offset) % 250 + 1
            if !routes.contains("198.18.\(subnet).0/24") { return subnet }
        }
        throw NetworkLabError("every test subnet 198.18.1-250.0/24 is in use: remove stale labs with ip netns del")
    }

    /// Runs a program, waits for it, and returns its standard output; throws with its
    /// standard error when it fails.
    static func output(_ path: String, _ arguments: [String]) throws -> String {
        let scratch = FileManager.default.temporaryDirectory.appending(path: "shoal-lab-\(UUID().uuidString)")
        let out = scratch.path + ".out"
        let err = scratch.path + ".err"
        defer {
            try? FileManager.default.removeItem(atPath: out)
            try? FileManager.default.removeItem(atPath: err)
        }
        let process = try SpawnedProcess.spawn(path, arguments, standardOutput: out, standardError: err)
        guard process.waitForExit(seconds: 30) else {
            process.kill()
            throw NetworkLabError("\(([path] + arguments).joined(separator: " ")) did not finish within 30 s")
        }
        let printed = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        guard process.exitCode == 0 else {
            let message = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
            throw NetworkLabError(
                "\(([path] + arguments).joined(separator: " ")) failed (exit \(process.exitCode ?? -1)): \(message)")
        }
        return printed
    }
}

/// Why a network lab could not be made or changed.
public struct NetworkLabError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
