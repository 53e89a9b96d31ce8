import Foundation

/// What the Redis registry keeps of a registration, as JSON with sorted keys, so the same
/// registration always has the same bytes and a repeated one is recognised as no change.
struct StoredRegistration: Codable, Equatable {
    var address: String
    var port: Int
    var weight: Double
    var zone: String?
    var metadata: [String: String]
    var ttlMilliseconds: Int64

    init(_ instance: ServiceInstance, ttl: Duration) {
        address = instance.address
        port = instance.port
        weight = instance.weight
        zone = instance.zone
        metadata = instance.metadata
        ttlMilliseconds = ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000
    }

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings and numbers cannot fail.
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    static func decode(_ json: String) -> StoredRegistration? {
        try? JSONDecoder().decode(StoredRegistration.self, from: Data(json.utf8))
    }
}
