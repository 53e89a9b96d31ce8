// swift-tools-version: 6.1
import PackageDescription

import class Foundation.ProcessInfo

/// `SHOAL_WITHOUT_OTLP=1` builds `shoal` without swift-otel's exporter, whose version 1.6.0
/// does not compile under ThreadSanitizer ("sending 'logger' risks causing data races");
/// `scripts/sanitize` sets it. Such a build refuses `--otlp-endpoint` with exit code 2.
let withoutOTLP = Context.environment["SHOAL_WITHOUT_OTLP"] != nil

/// `SHOAL_BUILD_COMMIT`, set by `scripts/release`: the commit `shoal --version` names. Only the
/// small C target `ShoalBuildInfo` sees it, so a new commit recompiles one file. Anything but
/// hex digits and "-dirty" is ignored rather than pasted into C source.
let buildCommit = Context.environment["SHOAL_BUILD_COMMIT"].flatMap { commit in
    commit.allSatisfy { $0.isHexDigit || "-dirty".contains($0) } && !commit.isEmpty ? commit : nil
}

// Shoal: consistent hashing, load balancing, discovery, locks and a gateway for Swift services.
// Module map and import rules: Docs/DESIGN.md.

let package = Package(
    name: "shoal",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ShoalCore", targets: ["ShoalCore"]),
        .library(name: "ShoalHashing", targets: ["ShoalHashing"]),
        .library(name: "ShoalBalancing", targets: ["ShoalBalancing"]),
        .library(name: "ShoalRESP", targets: ["ShoalRESP"]),
        .library(name: "ShoalRedis", targets: ["ShoalRedis"]),
        .library(name: "ShoalLock", targets: ["ShoalLock"]),
        .library(name: "ShoalDiscovery", targets: ["ShoalDiscovery"]),
        .library(name: "ShoalGateway", targets: ["ShoalGateway"]),
        .library(name: "ShoalClient", targets: ["ShoalClient"]),
        .library(name: "ShoalHummingbird", targets: ["ShoalHummingbird"]),
        .library(name: "ShoalGRPC", targets: ["ShoalGRPC"]),
        .library(name: "ShoalEtcd", targets: ["ShoalEtcd"]),
        .executable(name: "shoal", targets: ["shoal"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        // The gRPC example's generated code (Examples/GRPCOrders): the runtime, not the plugins.
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: ["YAML"]),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // OTLP/HTTP only: the gRPC exporter would bring grpc-swift into the build.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        .target(name: "ShoalCore"),
        // The commit `shoal --version` prints (see buildCommit above); not a product.
        .target(
            name: "ShoalBuildInfo",
            cSettings: buildCommit.map { [.define("SHOAL_BUILD_COMMIT", to: "\"\($0)\"")] } ?? []
        ),
        .target(
            name: "ShoalHashing",
            dependencies: [
                "ShoalCore",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(name: "ShoalBalancing", dependencies: ["ShoalCore", "ShoalHashing"]),
        // Trace context in request heads, shared by the gateway and ServiceClient; not a product.
        .target(name: "ShoalTracing", dependencies: [.product(name: "Tracing", package: "swift-distributed-tracing")]),
        .target(name: "ShoalRESP", dependencies: [.product(name: "NIOCore", package: "swift-nio")]),
        .target(
            name: "ShoalLock",
            dependencies: [
                "ShoalCore", "ShoalRedis", "ShoalRESP", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "ShoalRedis",
            dependencies: [
                "ShoalCore", "ShoalRESP", "ShoalHashing",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "ShoalDiscovery",
            dependencies: [
                "ShoalCore", "ShoalBalancing", "ShoalRedis", "ShoalRESP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The reverse proxy: SwiftNIO on both sides, no Hummingbird.
        .target(
            name: "ShoalGateway",
            dependencies: [
                "ShoalCore", "ShoalBalancing", "ShoalDiscovery", "ShoalTracing",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        // gRPC calls by name (shoal:///SERVICE): grpc-swift-2, kept out of every other module.
        // etcd's v3 API over gRPC, and the lock and registry backends on it: a module of its
        // own, so that a user without etcd does not build its generated code.
        .target(
            name: "ShoalEtcd",
            dependencies: [
                "ShoalCore", "ShoalLock", "ShoalDiscovery",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["Proto/etcd.proto", "Proto/README.md"]
        ),
        .target(
            name: "ShoalGRPC",
            dependencies: [
                "ShoalDiscovery", "ShoalBalancing", "ShoalCore",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Calls to services by name, and locks over HTTP: AsyncHTTPClient, kept out of the
        // lower modules.
        .target(
            name: "ShoalClient",
            dependencies: [
                "ShoalCore", "ShoalLock", "ShoalBalancing", "ShoalDiscovery", "ShoalTracing",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Hummingbird applications that register themselves and report their health.
        .target(
            name: "ShoalHummingbird",
            dependencies: [
                "ShoalCore", "ShoalDiscovery",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // The admin HTTP API (Hummingbird); only `shoal` and its tests import it.
        .target(
            name: "ShoalAdmin",
            dependencies: [
                "ShoalCore", "ShoalDiscovery", "ShoalLock", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The dashboard's files are compiled into the module, so the one `shoal` binary
            // serves them wherever it is copied (no resource bundle beside it).
            resources: [
                .embedInCode("Dashboard/dashboard.html"), .embedInCode("Dashboard/dashboard.js"),
                .embedInCode("Dashboard/dashboard.css"),
            ]
        ),
        .executableTarget(
            name: "shoal",
            dependencies: [
                "ShoalCore",
                "ShoalBuildInfo",
                "ShoalHashing",
                "ShoalBalancing",
                "ShoalRESP",
                "ShoalRedis",
                "ShoalLock",
                "ShoalDiscovery",
                "ShoalAdmin",
                "ShoalGateway",
                "ShoalClient",
                "ShoalEtcd",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                // The admin listener's TLS channel, whose certificate SIGHUP reloads.
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // etcd's messages as JSON, for its HTTP gateway (shoal bench etcd-transports).
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ] + (withoutOTLP ? [] : [.product(name: "OTel", package: "swift-otel")]),
            swiftSettings: withoutOTLP ? [.define("SHOAL_WITHOUT_OTLP")] : []
        ),
        // What the tests share (child processes now; a RedisServer fixture later). Only test
        // targets import it.
        .target(
            name: "ShoalTesting",
            dependencies: ["ShoalRESP", "ShoalRedis", .product(name: "NIOCore", package: "swift-nio")]
        ),
        // The example in the README: two Hummingbird services calling each other by name.
        .executableTarget(
            name: "hello-services",
            dependencies: [
                "ShoalClient", "ShoalDiscovery", "ShoalHummingbird",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Examples/HelloServices"
        ),
        // The gRPC example: a service registered with shoal serve, and a client calling it by name.
        .executableTarget(
            name: "grpc-orders",
            dependencies: [
                "ShoalClient", "ShoalDiscovery", "ShoalGRPC",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Examples/GRPCOrders",
            exclude: ["orders.proto", "README.md"]
        ),
        .testTarget(name: "ShoalCoreTests", dependencies: ["ShoalCore"]),
        .testTarget(
            name: "ShoalHashingTests",
            dependencies: [
                "ShoalHashing",
                "ShoalCore",
                "ShoalTesting",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            resources: [.copy("Vectors")]
        ),
        .testTarget(name: "ShoalBalancingTests", dependencies: ["ShoalBalancing", "ShoalCore", "ShoalTesting"]),
        // The admin API's decisions and hand-written JSON, without a server (its routes are
        // tested over HTTP in ShoalCLITests).
        .testTarget(
            name: "ShoalAdminTests",
            dependencies: [
                "ShoalAdmin", "ShoalDiscovery", "ShoalCore", "ShoalTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        // ServiceClient's decisions and lifetime, without instances (its calls are tested in
        // ShoalCLITests).
        .testTarget(
            name: "ShoalClientTests",
            dependencies: ["ShoalClient", "ShoalBalancing", "ShoalCore", "ShoalDiscovery", "ShoalTesting"]
        ),
        .testTarget(
            name: "ShoalEtcdTests",
            dependencies: [
                "ShoalEtcd", "ShoalLock", "ShoalDiscovery", "ShoalCore", "ShoalTesting",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
            ]
        ),
        .testTarget(
            name: "ShoalRESPTests",
            dependencies: [
                "ShoalRESP", "ShoalCore", "ShoalTesting",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "ShoalRedisTests",
            dependencies: [
                "ShoalRedis", "ShoalRESP", "ShoalCore", "ShoalHashing", "ShoalTesting",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(
            name: "ShoalLockTests", dependencies: ["ShoalLock", "ShoalCore", "ShoalRedis", "ShoalRESP", "ShoalTesting"]
        ),
        .testTarget(
            name: "ShoalDiscoveryTests",
            dependencies: [
                "ShoalDiscovery", "ShoalBalancing", "ShoalCore", "ShoalRedis", "ShoalTesting",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "ShoalGatewayTests",
            dependencies: [
                "ShoalGateway", "ShoalCore", "ShoalTesting", "ShoalBalancing", "ShoalDiscovery",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "ShoalGRPCTests",
            dependencies: [
                "ShoalGRPC", "ShoalDiscovery",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            ]
        ),
        // Failures across hosts: each test builds a NetworkLab (hosts as network namespaces)
        // and runs real redis-server, redis-sentinel and shoal processes on it.
        .testTarget(name: "ShoalFailoverTests", dependencies: ["shoal", "ShoalTesting", "ShoalRESP"]),
        .testTarget(
            name: "ShoalCLITests",
            dependencies: [
                "shoal", "ShoalTesting", "ShoalLock", "ShoalRedis", "ShoalCore", "ShoalDiscovery", "ShoalGateway",
                "ShoalClient", "ShoalHummingbird", "ShoalAdmin", "hello-services", "grpc-orders",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// Micro-benchmarks (package-benchmark) build only when asked for, so `swift build` and
// `swift test` stay fast: SHOAL_BENCHMARKS=1 swift package benchmark
if ProcessInfo.processInfo.environment["SHOAL_BENCHMARKS"] == "1" {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/package-benchmark.git", from: "1.38.1", traits: ["MallocInterposer"])
    )
    for (name, library) in [("HashingBenchmarks", "ShoalHashing"), ("BalancingBenchmarks", "ShoalBalancing")] {
        package.targets.append(
            .executableTarget(
                name: name,
                dependencies: [.target(name: library), .product(name: "Benchmark", package: "package-benchmark")],
                path: "Benchmarks/\(name)",
                plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
            )
        )
    }
}

// Executables that Benchmarks/peers/ scripts run against their peers, built only for them
// (SHOAL_PEER_BENCHMARKS=1 swift build -c release --product NAME).
if ProcessInfo.processInfo.environment["SHOAL_PEER_BENCHMARKS"] == "1" {
    package.targets.append(
        .executableTarget(
            name: "grpc-client-overhead",
            dependencies: [
                "ShoalGRPC", "ShoalDiscovery",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            ],
            path: "Benchmarks/peers/grpc-client-overhead"
        )
    )
}

// libFuzzer harnesses for the RESP decoder and the gateway's HTTP/1 reader, built only for
// scripts/fuzz-resp and scripts/fuzz-http1.
if ProcessInfo.processInfo.environment["SHOAL_FUZZ"] == "1" {
    package.targets.append(.target(name: "FuzzerDriver", path: "Fuzz/FuzzerDriver"))
    package.targets.append(
        .executableTarget(
            name: "RESPFuzzer",
            dependencies: ["ShoalRESP", "FuzzerDriver", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/RESPFuzzer",
            swiftSettings: [.unsafeFlags(["-parse-as-library", "-sanitize=fuzzer,address"])],
            linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]
        )
    )
    package.targets.append(
        .executableTarget(
            name: "HTTP1Fuzzer",
            dependencies: ["ShoalGateway", "FuzzerDriver"],
            path: "Fuzz/HTTP1Fuzzer",
            swiftSettings: [.unsafeFlags(["-parse-as-library", "-sanitize=fuzzer,address"])],
            linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]
        )
    )
}
