import Benchmark
import ShoalCore
import ShoalHashing

// Micro-benchmarks of ShoalHashing: lookups (which must not allocate: see the malloc
// counts), builds, the hash functions and bounded-load assignments.
//
//   SHOAL_BENCHMARKS=1 swift package --scratch-path .build-benchmarks benchmark
//
// Comparisons with other implementations live in Benchmarks/peers.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(2)
    )

    let nodes = (0..<100).map { try! Endpoint(host: "10.0.0.\($0)", port: 11211) }
    let keys = (0..<4096).map { "key:\($0)" }

    for algorithm in HashRing.Algorithm.allCases {
        let ring = try! HashRing(nodes: nodes, algorithm: algorithm)
        Benchmark("lookup \(algorithm), 100 nodes") { benchmark in
            for iteration in benchmark.scaledIterations {
                blackHole(ring.index(for: keys[iteration & 4095]))
            }
        }
        Benchmark("replicas ×3 \(algorithm), 100 nodes") { benchmark in
            for iteration in benchmark.scaledIterations {
                blackHole(ring.nodes(for: keys[iteration & 4095], count: 3))
            }
        }
        Benchmark("build \(algorithm), 100 nodes", configuration: .init(scalingFactor: .one)) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try HashRing(nodes: nodes, algorithm: algorithm))
            }
        }
    }

    let ring64 = try! Ring64(nodes: nodes)
    let extra = try! Endpoint(host: "10.0.1.1", port: 11211)
    Benchmark("ring64 add one node to 100", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try ring64.adding(extra))
        }
    }

    Benchmark("XXH64, 10-byte key") { benchmark in
        for iteration in benchmark.scaledIterations {
            blackHole(XXH64.hash(keys[iteration & 4095]))
        }
    }

    let bounded = try! BoundedLoadPlacement(base: .ring64(ring64))
    Benchmark("bounded-load acquire and release, ring64") { benchmark in
        for iteration in benchmark.scaledIterations {
            bounded.release(bounded.acquire(keys[iteration & 4095]))
        }
    }
}
