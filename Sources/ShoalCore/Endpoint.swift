/// A network address that traffic or keys can be sent to: a host, a port and the attributes
/// that placement and balancing read.
///
/// An endpoint's identity is its ``host`` and ``port``; ``weight``, ``zone`` and ``metadata``
/// describe it. Two endpoints with the same address and different weights are *equal*
/// (`==` compares every field) but have the same ``address``, which is what duplicate checks use.
///
/// ```swift
/// let cache = try Endpoint(parsing: "10.0.0.7:11211=2")
/// cache.address      // "10.0.0.7:11211"
/// cache.weight       // 2.0
/// ```
public struct Endpoint: Hashable, Sendable {
    /// A host name, an IPv4 address or an IPv6 address (without brackets).
    public var host: String
    /// The TCP port, `0 ... 65535`.
    public var port: Int
    /// The relative share of traffic or keys this endpoint should take; finite and > 0.
    public var weight: Double
    /// The failure domain (availability zone, rack) the endpoint lives in, if known.
    public var zone: String?
    /// Free-form labels such as `version` or `tags`.
    public var metadata: [String: String]

    /// Creates an endpoint, checking that the port and weight are usable.
    ///
    /// - Throws: ``EndpointError`` when the host is empty, the port is out of range or the
    ///   weight is not a finite number greater than zero.
    public init(
        host: String,
        port: Int,
        weight: Double = 1,
        zone: String? = nil,
        metadata: [String: String] = [:]
    ) throws(EndpointError) {
        guard !host.isEmpty else {
            throw EndpointError(.emptyHost, input: host)
        }
        guard (0...65535).contains(port) else {
            throw EndpointError(.portOutOfRange, input: "\(host):\(port)")
        }
        guard weight.isFinite, weight > 0 else {
            throw EndpointError(.invalidWeight, input: "\(host):\(port)=\(weight)")
        }
        self.host = host
        self.port = port
        self.weight = weight
        self.zone = zone
        self.metadata = metadata
    }

    /// `host:port`, with IPv6 hosts in brackets (`[::1]:6379`). This is the string that
    /// placement hashes and the one tools print.
    public var address: String {
        // utf8.contains: String.contains(String) goes through Foundation when it is imported.
        host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

extension Endpoint: CustomStringConvertible {
    /// ``address``, followed by `=weight` when the weight is not 1.
    public var description: String {
        weight == 1 ? address : "\(address)=\(formatWeight(weight))"
    }
}

/// Prints whole weights without a fraction (`2`, not `2.0`).
private func formatWeight(_ weight: Double) -> String {
    if weight == weight.rounded(), abs(weight) < 1e15 {
        return String(Int64(weight))
    }
    return String(weight)
}
