// swift-tools-version:6.0
// A reference point for gateway-vs-nginx-haproxy, built by that script: the least any proxy
// on SwiftNIO's channel pipeline does. It is not part of Shoal.
import PackageDescription

let package = Package(
    name: "nio-forwarder",
    dependencies: [.package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2")],
    targets: [
        .executableTarget(
            name: "nio-forwarder",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
