import Foundation
import ShoalCore
import ShoalDiscovery

/// The body of `PUT /v1/services/{service}/instances/{id}`, read strictly: unknown fields,
/// wrong types and out-of-range values are errors that name the field.
struct InstanceRequest {
    let instance: ServiceInstance
    let ttl: Duration
    let check: HealthCheck?

    static let fields: Set<String> = ["address", "port", "weight", "zone", "metadata", "health", "ttl", "check"]
    static let checkFields: Set<String> = ["http", "tcp", "interval", "timeout", "fall", "rise"]

    init(service: String, id: String, body: Data) throws(DiscoveryError) {
        guard let object = JSON.object(body) else {
            throw DiscoveryError(.invalidArgument, field: "body", "must be a JSON object")
        }
        if let unknown = object.keys.sorted().first(where: { !Self.fields.contains($0) }) {
            throw DiscoveryError(.invalidArgument, field: unknown, "is not a field of an instance")
        }
        let address = try Self.string(object, "address", required: true) ?? ""
        let port = try Self.integer(object, "port") ?? -1
        guard object["port"] != nil else { throw DiscoveryError(.invalidArgument, field: "port", "is required") }
        let weight = try Self.number(object, "weight") ?? 1
        let zone = try Self.string(object, "zone", required: false)
        var metadata: [String: String] = [:]
        if let raw = object["metadata"] {
            guard let map = raw as? [String: Any], map.values.allSatisfy({ $0 is String }) else {
                throw DiscoveryError(.invalidArgument, field: "metadata", "must be an object of strings")
            }
            metadata = map.mapValues { $0 as! String }  // checked just above
        }
        var health = HealthStatus.passing
        if let raw = try Self.string(object, "health", required: false) {
            guard let parsed = HealthStatus(rawValue: raw) else {
                throw DiscoveryError(.invalidArgument, field: "health", "must be passing, warning or critical")
            }
            health = parsed
        }
        instance = try ServiceInstance(
            service: service, id: id, address: address, port: port, weight: weight, zone: zone, metadata: metadata,
            health: health)
        ttl = try Self.duration(object, "ttl", field: "ttl") ?? .seconds(30)
        check = try Self.check(object["check"])
    }

    private static func check(_ raw: Any?) throws(DiscoveryError) -> HealthCheck? {
        guard let raw else { return nil }
        guard let object = raw as? [String: Any] else {
            throw DiscoveryError(.invalidArgument, field: "check", "must be an object")
        }
        if let unknown = object.keys.sorted().first(where: { !checkFields.contains($0) }) {
            throw DiscoveryError(.invalidArgument, field: "check.\(unknown)", "is not a field of a check")
        }
        let path = try string(object, "http", required: false, field: "check.http")
        let tcp = object["tcp"].map { raw in (raw as? NSNumber).flatMap { isBoolean($0) ? $0.boolValue : nil } }
        if case .some(.none) = tcp {
            throw DiscoveryError(.invalidArgument, field: "check.tcp", "must be true or false")
        }
        let probe: HealthCheck.Probe
        switch (path, tcp ?? nil) {
        case (let path?, nil), (let path?, false?): probe = .http(path: path)
        case (nil, true?): probe = .tcp
        default:
            throw DiscoveryError(.invalidArgument, field: "check", "needs either \"http\": \"/path\" or \"tcp\": true")
        }
        return try HealthCheck(
            probe, interval: duration(object, "interval", field: "check.interval") ?? .seconds(10),
            timeout: duration(object, "timeout", field: "check.timeout") ?? .seconds(2),
            fall: integer(object, "fall", field: "check.fall") ?? 3,
            rise: integer(object, "rise", field: "check.rise") ?? 2)
    }

    private static func string(
        _ object: [String: Any], _ key: String, required: Bool, field: String? = nil
    ) throws(DiscoveryError) -> String? {
        guard let raw = object[key] else {
            if required { throw DiscoveryError(.invalidArgument, field: field ?? key, "is required") }
            return nil
        }
        guard let value = raw as? String else {
            throw DiscoveryError(.invalidArgument, field: field ?? key, "must be a string")
        }
        return value
    }

    private static func integer(_ object: [String: Any], _ key: String, field: String? = nil) throws(DiscoveryError)
        -> Int?
    {
        guard let raw = object[key] else { return nil }
        guard let number = raw as? NSNumber, !isBoolean(number), let value = Int(exactly: number.doubleValue) else {
            throw DiscoveryError(.invalidArgument, field: field ?? key, "must be a whole number")
        }
        return value
    }

    private static func number(_ object: [String: Any], _ key: String) throws(DiscoveryError) -> Double? {
        guard let raw = object[key] else { return nil }
        guard let number = raw as? NSNumber, !isBoolean(number), number.doubleValue.isFinite else {
            throw DiscoveryError(.invalidArgument, field: key, "must be a number")
        }
        return number.doubleValue
    }

    /// Whether a parsed JSON value was `true` or `false` (Foundation hands those over as
    /// numbers whose type code is `c`, and `is Bool` holds for the numbers 0 and 1 too).
    private static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }

    private static func duration(_ object: [String: Any], _ key: String, field: String) throws(DiscoveryError)
        -> Duration?
    {
        guard let text = try string(object, key, required: false, field: field) else { return nil }
        guard let duration = Duration(parsing: text) else {
            throw DiscoveryError(
                .invalidArgument, field: field, "must be a duration such as 500ms or 10s, not '\(text)'")
        }
        return duration
    }
}
