import Foundation
import ShoalCore

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
        // Encoding plain strings and numbers cannot fail.
        let json = (try? Self.encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        Self.remembered.remember(self, for: json)
        return json
    }

    /// The registration `json` holds, or `nil` when it holds none.
    ///
    /// Lately written or decoded registrations are remembered by their JSON, up to
    /// ``rememberedLimit``: a server that watches a service hears of its own registrations
    /// in change notices that carry back the JSON it has just written, and decoding it
    /// again with `JSONDecoder` was a tenth of what a registration cost it. The decoding is
    /// a function of the text alone, so one memory serves every registry in the process.
    static func decode(_ json: String) -> StoredRegistration? {
        if let known = remembered[json] { return known }
        guard let stored = try? JSONDecoder().decode(StoredRegistration.self, from: Data(json.utf8)) else { return nil }
        remembered.remember(stored, for: json)
        return stored
    }

    /// The most registrations remembered by their JSON: 1,024. The memory starts afresh when full.
    static let rememberedLimit = 1024

    private static let remembered = BoundedMemo<String, StoredRegistration>(limit: rememberedLimit)

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}
