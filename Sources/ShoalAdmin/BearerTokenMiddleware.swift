import Hummingbird

/// Requires `Authorization: Bearer <token>` on every request under `/v1` and on `/metrics`,
/// compared in constant time; otherwise 401. `/healthz` stays open for liveness probes.
public struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let expected: [UInt8]

    public init(token: String) {
        expected = Array(token.utf8)
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/v1") || path == "/metrics" else { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        let given = header.hasPrefix("Bearer ") ? Array(header.utf8.dropFirst(7)) : []
        guard Self.constantTimeEqual(given, expected) else {
            var response = RegistryAPI.error(.unauthorized, field: nil, "missing or wrong bearer token")
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return try await next(request, context)
    }

    /// Compares without stopping at the first difference, so the time taken does not tell
    /// how much of a guess was right. (The length of the expected token is not secret.)
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<b.count {
            difference |= (index < a.count ? a[index] : 0) ^ b[index]
        }
        return difference == 0
    }
}
