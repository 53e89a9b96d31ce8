/// A request's target made canonical before it is routed and sent on, so that dot segments,
/// repeated slashes and escaped unreserved characters cannot walk around a route:
/// `/public/../admin/x` is `/admin/x`, and is routed as that.
///
/// The path is normalised as nginx and Envoy's `normalize_path` do (RFC 3986 §6.2.2):
/// - percent-encoded unreserved characters are decoded (`%41` is `A`, `%2E` is `.`), and the
///   other escapes are written with upper-case hex;
/// - repeated slashes are merged;
/// - `.` and `..` segments are resolved (RFC 3986 §5.2.4; `..` never climbs above `/`).
///
/// An encoded slash or backslash (`%2F`, `%5C`), or a raw backslash, stays as it came but is
/// noted: an instance may read it as a separator, so the gateway refuses it unless the
/// route allows it. An absolute-form target (`http://host/path`, RFC 9112 §3.2.2) is routed on
/// its path, with its authority as the host. The query is kept as it came. A value with no
/// I/O: the proxy routes on ``uri`` and sends it on.
struct RequestTarget: Equatable {
    /// The path, normalised, and the query as it came: origin-form.
    let uri: String
    /// The authority of an absolute-form target, which stands for the request's `Host`.
    let authority: String?
    /// Whether the path holds `%2F`, `%5C` or `\`.
    let hasEncodedSeparator: Bool

    /// Reads and normalises `target`, a request line's target (visible ASCII).
    ///
    /// - Throws: ``HTTPParseError`` (400) for a bad percent-escape, a fragment (`#`), or an
    ///   absolute-form target with no host or with user information.
    init(_ target: String) throws(HTTPParseError) {
        var rest = Substring(target)
        var authority: String?
        if !target.hasPrefix("/") {
            guard let scheme = Self.scheme(of: target) else {
                // `*` (OPTIONS) and authority-form (CONNECT): no path to route on, as they came.
                self.init(uri: target, authority: nil, hasEncodedSeparator: false)
                return
            }
            rest = rest.dropFirst(scheme)
            let end = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
            let host = rest[..<end]
            guard !host.isEmpty, !host.contains("@") else {
                throw HTTPParseError("an absolute-form target needs a host, and no user information: \(target)")
            }
            authority = String(host)
            rest = rest[end...]
        }
        guard !rest.utf8.contains(UInt8(ascii: "#")) else {
            throw HTTPParseError("a request target must not hold a fragment ('#')")
        }
        let queryStart = rest.utf8.firstIndex(of: UInt8(ascii: "?")) ?? rest.endIndex
        let path = rest[..<queryStart]
        let query = rest[queryStart...]
        if Self.isCanonical(path.utf8), !path.isEmpty {
            self.init(
                uri: authority == nil ? target : String(rest), authority: authority, hasEncodedSeparator: false)
            return
        }
        let (normalised, separator) = try Self.normalise(Array(path.utf8))
        self.init(uri: normalised + query, authority: authority, hasEncodedSeparator: separator)
    }

    private init(uri: String, authority: String?, hasEncodedSeparator: Bool) {
        self.uri = uri
        self.authority = authority
        self.hasEncodedSeparator = hasEncodedSeparator
    }

    /// The length of `http://` or `https://` (any case) at the start of `target`, if it has one.
    private static func scheme(of target: String) -> Int? {
        let lowered = target.prefix(8).lowercased()
        if lowered.hasPrefix("http://") { return 7 }
        if lowered.hasPrefix("https://") { return 8 }
        return nil
    }

    /// Whether `path` needs no work: it starts with `/` and holds no escape, no backslash, no
    /// repeated slash and no segment that starts with a dot.
    private static func isCanonical(_ path: Substring.UTF8View) -> Bool {
        guard path.first == UInt8(ascii: "/") else { return false }
        var previous: UInt8 = 0
        for byte in path {
            if byte == UInt8(ascii: "%") || byte == UInt8(ascii: "\\") { return false }
            if previous == UInt8(ascii: "/") && (byte == UInt8(ascii: "/") || byte == UInt8(ascii: ".")) { return false }
            previous = byte
        }
        return true
    }

    /// The normalised path, and whether it holds an encoded or raw separator (looked for in
    /// the path the instance gets: one in a segment that `..` removed is gone).
    private static func normalise(_ path: [UInt8]) throws(HTTPParseError) -> (String, Bool) {
        var decoded: [UInt8] = []
        decoded.reserveCapacity(path.count + 1)
        if path.first != UInt8(ascii: "/") { decoded.append(UInt8(ascii: "/")) }
        var index = 0
        while index < path.count {
            let byte = path[index]
            index += 1
            guard byte == UInt8(ascii: "%") else {
                decoded.append(byte)
                continue
            }
            guard index + 1 < path.count, let high = hexValue(path[index]), let low = hexValue(path[index + 1])
            else { throw HTTPParseError("a bad percent-escape in the request's path") }
            index += 2
            let value = high << 4 | low
            if ASCIISet.unreserved.contains(value) {
                decoded.append(value)
            } else {
                decoded += [UInt8(ascii: "%"), hexDigit(high), hexDigit(low)]
            }
        }
        let normalised = removingDotSegments(decoded)
        let separator =
            normalised.utf8.contains(UInt8(ascii: "\\")) || normalised.contains("%2F") || normalised.contains("%5C")
        return (normalised, separator)
    }

    /// `path` (starting with `/`) with empty, `.` and `..` segments resolved; a path that
    /// ended with `/`, `.` or `..` keeps a trailing slash.
    private static func removingDotSegments(_ path: [UInt8]) -> String {
        var segments: [ArraySlice<UInt8>] = []
        var trailingSlash = false
        for segment in path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst() {
            trailingSlash = false
            if segment.isEmpty || segment.elementsEqual([UInt8(ascii: ".")]) {
                trailingSlash = true
            } else if segment.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                if !segments.isEmpty { segments.removeLast() }
                trailingSlash = true
            } else {
                segments.append(segment)
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(path.count)
        for segment in segments {
            out.append(UInt8(ascii: "/"))
            out += segment
        }
        if trailingSlash || segments.isEmpty { out.append(UInt8(ascii: "/")) }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "A") + value - 10
    }
}
