import Foundation

/// JSON for the admin API, written with sorted keys so responses are stable.
enum JSON {
    /// Serialises an object of strings, numbers, booleans, arrays and nested objects.
    static func encode(_ value: Any) -> Data {
        // Only values built from the API's own types reach here; they always serialise.
        (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
    }

    /// Serialises an `Encodable` value, keys sorted as `encode(_:)` sorts them.
    static func encode(_ value: some Encodable) -> Data {
        // The API's own bodies always encode.
        (try? encoder.encode(value)) ?? Data("{}".utf8)
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// The top-level object of `data`, or `nil` when it is not a JSON object.
    static func object(_ data: Data) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: data, options: [])) as? [String: Any]
    }
}
