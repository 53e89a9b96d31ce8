import Hummingbird

/// Checks every admin request against ``AdminRequirement``: open paths pass; any other needs
/// `Authorization: Bearer <token>` of a known token (else 401) whose rights meet the path's
/// requirement (else 403, naming the right that is missing, never the token). The caller
/// goes on in the context, for the handlers' audit records and the list of locks.
///
/// With no token required (no `--token`, no tokens file), the API is open, as `shoal serve`
/// allows only on a loopback address or with `--insecure`. Once tokens are required, a
/// reload that leaves none refuses every request.
public struct AdminAccessMiddleware: RouterMiddleware {
    public typealias Context = AdminRequestContext
    let tokens: AdminTokens

    public init(tokens: AdminTokens) {
        self.tokens = tokens
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let requirement = AdminRequirement.rule(method: request.method, path: request.uri.path) ?? .all
        guard requirement != .open, tokens.required else { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        guard header.hasPrefix("Bearer "), let caller = tokens.caller(presenting: String(header.dropFirst(7))) else {
            var response = RegistryAPI.error(.unauthorized, field: nil, "missing or wrong bearer token")
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        guard requirement.isMet(by: caller.rights) else {
            return RegistryAPI.error(
                .forbidden, field: nil,
                "this token lacks the right \(requirement) that \(request.method) \(request.uri.path) needs")
        }
        var context = context
        context.caller = caller
        return try await next(request, context)
    }
}
