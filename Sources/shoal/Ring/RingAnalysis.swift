import ShoalCore
import ShoalHashing

/// What `shoal ring analyze` measures.
struct RingAnalysis {
    var algorithm: String
    var nodes: Int
    var keys: Int
    var pointsPerNode: Int?
    var tableSize: Int?
    var boundedLoad: Double?
    var min: Int
    var mean: Double
    var max: Int
    var peakToMean: Double
    var stddevPercent: Double
    var movedOnAdd: Double
    var movedOnRemove: Double
    var idealMoved: Double
    var idealMovedOnRemove: Double
    var lookupNs: Double
    var hashNs: Double
    var buildMs: Double

    /// One JSON object with sorted keys. Numbers are written with Swift's shortest
    /// round-tripping form (Foundation's encoder on Linux rounds some doubles).
    var json: String {
        var fields: [(String, String)] = [
            ("algorithm", "\"\(algorithm)\""), ("nodes", "\(nodes)"), ("keys", "\(keys)"),
            ("min", "\(min)"), ("mean", number(mean)), ("max", "\(max)"),
            ("peak_to_mean", number(peakToMean)), ("stddev_percent", number(stddevPercent)),
            ("moved_on_add", number(movedOnAdd)), ("moved_on_remove", number(movedOnRemove)),
            ("ideal_moved", number(idealMoved)), ("ideal_moved_on_remove", number(idealMovedOnRemove)),
            ("lookup_ns", number(lookupNs)), ("hash_ns", number(hashNs)), ("build_ms", number(buildMs)),
        ]
        if let pointsPerNode { fields.append(("points_per_node", "\(pointsPerNode)")) }
        if let tableSize { fields.append(("table_size", "\(tableSize)")) }
        if let boundedLoad { fields.append(("bounded_load", number(boundedLoad))) }
        let body = fields.sorted { $0.0 < $1.0 }.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",")
        return "{\(body)}\n"
    }

    private func number(_ value: Double) -> String {
        value.isFinite ? "\(value)" : "null"
    }
}

extension RingAnalysis {
    /// The nodes analysed: `10.a.b.c:11211`, weight 1.
    static func syntheticNodes(_ count: Int) -> [Endpoint] {
        (0..<count).map { i in
            try! Endpoint(host: "10.\((i >> 16) & 255).\((i >> 8) & 255).\(i & 255)", port: 11211)
        }
    }

    /// Measures `algorithm` on `nodeCount` nodes and `keyCount` keys.
    static func measure(
        algorithm: HashRing.Algorithm, options: HashRing.Options, nodeCount: Int, keyCount: Int, boundedLoad: Double?,
        showProgress: Bool
    ) throws(HashRingError) -> RingAnalysis {
        let nodes = syntheticNodes(nodeCount)
        let clock = ContinuousClock()

        // Build: the fastest of up to 5 builds, stopping after a second.
        let ring = try HashRing(nodes: nodes, algorithm: algorithm, options: options)
        var buildTime = Duration.seconds(1_000)
        var spent = Duration.zero
        for _ in 0..<5 where spent < .seconds(1) {
            let start = clock.now
            let rebuilt = try HashRing(nodes: nodes, algorithm: algorithm, options: options)
            let elapsed = clock.now - start
            blackHole(rebuilt.nodes.count)
            buildTime = Swift.min(buildTime, elapsed)
            spent += elapsed
        }

        let keys = KeyTable(count: keyCount)
        var progress = ProgressBar(label: "placing keys", total: keyCount * 3, enabled: showProgress)
        var owners = [UInt32](repeating: 0, count: keyCount)
        var loads = [Int](repeating: 0, count: nodeCount)
        if let boundedLoad {
            let base: BoundedLoadPlacement.Base
            switch ring.placement {
            case let ring64 as Ring64: base = .ring64(ring64)
            case let maglev as MaglevTable: base = .maglev(maglev)
            default: preconditionFailure("checked by the command")
            }
            let bounded = try BoundedLoadPlacement(base: base, epsilon: boundedLoad - 1)
            keys.forEach { index, key in
                owners[index] = UInt32(bounded.acquire(hash: XXH64.hash(key)).index)
                if index & 0xFFFF == 0 { progress.update(index) }
            }
            loads = bounded.loads
        } else {
            keys.forEach { index, key in
                let owner = ring.index(forKeyBytes: key)
                owners[index] = UInt32(owner)
                loads[owner] += 1
                if index & 0xFFFF == 0 { progress.update(index) }
            }
        }

        // Movement is measured on the consistent placement itself, adding one node and
        // removing the last one (the only minimal-disruption removal for jump), one changed
        // placement at a time so that peak memory is two placements, not three.
        if boundedLoad != nil {
            keys.forEach { index, key in owners[index] = UInt32(ring.index(forKeyBytes: key)) }
        }
        func moved(to changed: HashRing, pass: Int) -> Int {
            var moved = 0
            keys.forEach { index, key in
                if changed.index(forKeyBytes: key) != Int(owners[index]) { moved += 1 }
                if index & 0xFFFF == 0 { progress.update(keyCount * pass + index) }
            }
            return moved
        }
        let movedOnAdd = moved(to: try ring.adding(try! Endpoint(host: "new-node", port: 11211)), pass: 1)
        let movedOnRemove = moved(to: try ring.removing(address: nodes[nodeCount - 1].address), pass: 2)
        progress.finish()

        let lookup = measure(keys: keys, clock: clock) { ring.index(forKeyBytes: $0) }
        let hash =
            algorithm == .ketama || algorithm == .ketamaClassic
            ? measure(keys: keys, clock: clock) { Int(KetamaRing.keyHash($0)) }
            : measure(keys: keys, clock: clock) { Int(truncatingIfNeeded: XXH64.hash($0)) }
        let mean = Double(keyCount) / Double(nodeCount)
        let variance = loads.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(nodeCount)
        return RingAnalysis(
            algorithm: algorithm.rawValue, nodes: nodeCount, keys: keyCount,
            pointsPerNode: (ring.placement as? Ring64)?.pointsPerNode,
            tableSize: (ring.placement as? MaglevTable)?.tableSize,
            boundedLoad: boundedLoad,
            min: loads.min()!, mean: mean, max: loads.max()!,
            peakToMean: Double(loads.max()!) / mean,
            stddevPercent: variance.squareRoot() / mean * 100,
            movedOnAdd: Double(movedOnAdd) / Double(keyCount),
            movedOnRemove: Double(movedOnRemove) / Double(keyCount),
            idealMoved: 1 / Double(nodeCount + 1),
            idealMovedOnRemove: 1 / Double(nodeCount),
            lookupNs: lookup,
            hashNs: hash,
            buildMs: buildTime.nanosecondsDouble / 1e6)
    }

    /// Nanoseconds per call of `operation`: passes over all keys until at least 0.3 s has been
    /// spent, the total time divided by the total calls.
    @inline(__always)
    static func measure(keys: KeyTable, clock: ContinuousClock, _ operation: (UnsafeRawBufferPointer) -> Int) -> Double
    {
        var lookups = 0
        var elapsed = Duration.zero
        var checksum = 0
        repeat {
            elapsed += clock.measure {
                keys.forEach { _, key in checksum &+= operation(key) }
            }
            lookups += keys.count
        } while elapsed < .milliseconds(300)
        blackHole(checksum)
        return elapsed.nanosecondsDouble / Double(lookups)
    }
}

/// Keeps a value alive so the optimiser cannot drop the work that made it.
@inline(never)
func blackHole(_ value: Int) {
    if value == Int.min { print("") }
}
