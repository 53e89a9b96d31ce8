import NIOCore
import Testing

@testable import ShoalGateway

/// Request targets made canonical before routing: the forms a path can be spelled in, and
/// the ones refused.
@Suite("request targets: paths normalised before routing, absolute-form read, bad forms refused")
struct RequestTargetTests {
    /// (target, the normalised path and query, whether it holds an encoded separator)
    static let normalised: [(String, String, Bool)] = [
        ("/", "/", false),
        ("/api/orders?id=7", "/api/orders?id=7", false),
        ("/public/../admin/x", "/admin/x", false),
        ("/public/./x", "/public/x", false),
        ("/a/b/../../../../etc/passwd", "/etc/passwd", false),
        ("/..", "/", false),
        ("/a/..", "/", false),
        ("/a/b/..", "/a/", false),
        ("/a/.", "/a/", false),
        ("//admin//x", "/admin/x", false),
        ("/a///", "/a/", false),
        ("/a//../b", "/b", false),
        ("/%61dmin", "/admin", false),
        ("/%2e%2e/admin", "/admin", false),
        ("/public/%2E%2E/admin", "/admin", false),
        ("/a%7eb%2D%5F", "/a~b-_", false),
        ("/caf%c3%a9", "/caf%C3%A9", false),
        ("/a%20b", "/a%20b", false),
        ("/a%2fb", "/a%2Fb", true),
        ("/a%5Cb", "/a%5Cb", true),
        ("/a\\b", "/a\\b", true),
        ("/.well-known/x", "/.well-known/x", false),
        ("/a/..b/.c", "/a/..b/.c", false),
        ("/x?path=/../y&q=%2e", "/x?path=/../y&q=%2e", false),
        ("/a/../b?q", "/b?q", false),
        // Found by the fuzzer: a separator in a segment that `..` removes does not reach the
        // instance, so it is not one.
        ("/a/x%2fy/../b", "/a/b", false),
        ("/@.a/./b/.Irt./%1e%2fE'c%2d%3e%c3/../?=q", "/@.a/b/.Irt./?=q", false),
    ]

    @Test("paths: escapes decoded where unreserved, slashes merged, dot segments resolved", arguments: normalised)
    func paths(_ target: String, _ uri: String, _ separator: Bool) throws {
        let parsed = try RequestTarget(target)
        #expect(parsed.uri == uri)
        #expect(parsed.hasEncodedSeparator == separator)
        #expect(parsed.authority == nil)
        // Normalised again, it stays as it is.
        #expect(try RequestTarget(parsed.uri) == parsed)
    }

    @Test("absolute-form: routed on its path, its authority standing for the host")
    func absoluteForm() throws {
        let plain = try RequestTarget("http://Example.com:8080/app/../x?y=1")
        #expect(plain.uri == "/x?y=1")
        #expect(plain.authority == "Example.com:8080")
        #expect(try RequestTarget("HTTPS://h").uri == "/")
        #expect(try RequestTarget("https://h?q").uri == "/?q")
        #expect(try RequestTarget("http://h/a").authority == "h")
    }

    @Test("refused: a bad escape, a fragment, an absolute form with no host or with user information")
    func refused() {
        for target in ["/a%", "/a%2", "/a%zz", "/a%2g/b", "/a#frag", "http:///x", "http://user@h/x", "http://"] {
            #expect(throws: HTTPParseError.self, "\(target)") { try RequestTarget(target) }
        }
    }

    @Test("forms with no path (`*`, authority-form) are kept as they came")
    func noPath() throws {
        #expect(try RequestTarget("*").uri == "*")
        #expect(try RequestTarget("example.com:443").uri == "example.com:443")
    }

    @Test("bytes that cannot start a request line are seen at once; a request's start, in any piece, is not")
    func impossibleStarts() {
        func cannot(_ bytes: [UInt8]) -> Bool {
            var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            return RequestHead.cannotStart(buffer.readableBytesView)
        }
        // A TLS ClientHello's first bytes, a NUL, a space first, a bad target byte, a bad version.
        for bytes: [UInt8] in [[0x16, 0x03, 0x01, 0x02], [0], Array(" GET".utf8), Array("GET /a\u{7f}".utf8),
            Array("GET / FTP/1.1".utf8), Array("GET\r\n".utf8)]
        {
            #expect(cannot(bytes), "\(bytes)")
        }
        let request = Array("\r\nGET /a?b HTTP/1.1\r\nHost: x\r\n".utf8)
        for end in 0...request.count {
            #expect(!cannot(Array(request[..<end])), "\(end)")
        }
        #expect(!cannot(Array("GET / HTTP/2.0".utf8)), "another version gets 505 from the parser")
    }
}
