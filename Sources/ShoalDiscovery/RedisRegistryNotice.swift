/// A change notice as the registry's scripts publish it on `<prefix>changes`: a first line
/// `<service> <index> <previous index>`, then a line per instance named, `-<id>` for one
/// removed and, for one registered or changed, `+<id>` and the instance as stored, tab-separated:
/// health, registration time and expiry (ms, server time) and its JSON. Stored JSON has no raw
/// tab or newline (JSON escapes them in strings), and ids have neither.
///
/// A watcher applies the change from the notice alone. Older forms are still read:
/// `<service> <index> <previous> <+id | -id>…` on one line names instances without them
/// (the watcher reads those), and `<service> <index>` names none (it reads the whole service).
struct RedisRegistryNotice: Sendable, Equatable {
    let service: String
    let index: UInt64
    /// The service's index before the change; `nil` in the oldest form.
    let previous: UInt64?
    let upserted: [Upsert]
    let removed: [String]

    /// An instance registered or changed, with what the store holds for it when the notice
    /// carries it.
    struct Upsert: Sendable, Equatable {
        let id: String
        let row: Row?
    }

    /// An instance as the store holds it.
    struct Row: Sendable, Equatable {
        let health: String
        let registeredAt: Int64
        let expiresAt: Int64
        let json: String
    }

    /// Reads a notice, or `nil` when it is none of the forms above.
    ///
    /// The separators are ASCII bytes, so the text is cut at its bytes: a cut by characters
    /// (grapheme clusters) cost a watching `shoal serve` more than anything else it does with
    /// a notice.
    init?(_ text: String) {
        let lines = Self.pieces(text[...], at: UInt8(ascii: "\n"))
        let words = Self.pieces(lines[0], at: UInt8(ascii: " ")).filter { !$0.isEmpty }
        guard words.count >= 2, let index = UInt64(words[1]) else { return nil }
        service = String(words[0])
        self.index = index
        previous = words.count > 2 ? UInt64(words[2]) : nil
        var upserted: [Upsert] = []
        var removed: [String] = []
        for entry in words.dropFirst(3) + lines.dropFirst().filter({ !$0.isEmpty }) {
            switch entry.first {
            case "+":
                let fields = Self.pieces(entry.dropFirst(), at: UInt8(ascii: "\t"), maxSplits: 4)
                guard fields.count == 1 || fields.count == 5 else { return nil }
                var row: Row?
                if fields.count == 5 {
                    guard let registeredAt = Int64(fields[2]), let expiresAt = Int64(fields[3]) else { return nil }
                    row = Row(
                        health: String(fields[1]), registeredAt: registeredAt, expiresAt: expiresAt,
                        json: String(fields[4]))
                }
                upserted.append(Upsert(id: String(fields[0]), row: row))
            case "-": removed.append(String(entry.dropFirst()))
            default: return nil
            }
        }
        self.upserted = upserted
        self.removed = removed
    }

    /// `text` cut at each `separator` byte (an ASCII one), at most `maxSplits` times, keeping
    /// empty pieces.
    static func pieces(_ text: Substring, at separator: UInt8, maxSplits: Int = .max) -> [Substring] {
        var pieces: [Substring] = []
        let utf8 = text.utf8
        var start = utf8.startIndex
        var index = start
        while index < utf8.endIndex, pieces.count < maxSplits {
            if utf8[index] == separator {
                pieces.append(text[start..<index])
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        pieces.append(text[start...])
        return pieces
    }

    init(service: String, index: UInt64, previous: UInt64?, upserted: [Upsert] = [], removed: [String] = []) {
        self.service = service
        self.index = index
        self.previous = previous
        self.upserted = upserted
        self.removed = removed
    }

    /// What a watcher that knows the service at `index` does with `notices` (in the order
    /// published): apply what they name, reading the instances they do not carry, when they
    /// follow on from `index` one after the other and name at most `limit` instances;
    /// otherwise read the whole service.
    static func plan(_ notices: [RedisRegistryNotice], from index: UInt64?, limit: Int) -> Plan {
        guard var last = index else { return .readAll }
        var upserted: [String: Row?] = [:]
        var removed = Set<String>()
        for notice in notices where notice.index > last {
            guard notice.previous == last else { return .readAll }
            for id in notice.removed {
                upserted[id] = nil
                removed.insert(id)
            }
            for upsert in notice.upserted {
                removed.remove(upsert.id)
                upserted[upsert.id] = .some(upsert.row)
            }
            guard upserted.count + removed.count <= limit else { return .readAll }
            last = notice.index
        }
        return .apply(
            index: last,
            carried: upserted.compactMap { id, row in row.map { (id, $0) } }.sorted { $0.0 < $1.0 }
                .map { Upsert(id: $0.0, row: $0.1) },
            toRead: upserted.filter { $0.value == nil }.keys.sorted(), removed: removed.sorted())
    }

    /// How to catch up with a run of notices.
    enum Plan: Equatable {
        /// Take the instances `carried`, read those `toRead` (those gone by then count as
        /// removed), drop those `removed`: the service is then at `index`.
        case apply(index: UInt64, carried: [Upsert], toRead: [String], removed: [String])
        /// Read the whole service.
        case readAll
    }
}
