// swift-tools-version:6.0
// A reference point for gateway-h2-vs-nginx-haproxy, built by that script: the least a server
// on swift-nio-http2 spends on a request. It is not part of Shoal.
import PackageDescription

let package = Package(
    name: "nio-h2-floor",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
    ],
    targets: [
        .executableTarget(
            name: "nio-h2-floor",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
