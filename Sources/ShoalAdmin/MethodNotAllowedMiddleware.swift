import Hummingbird

/// Answers 405 with an `Allow` header, instead of 404, for a method the API does not have
/// on a path it does have.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The API's paths as patterns (`*` matches one segment) and their methods.
    static var routes: [(pattern: [Substring], methods: String)] {
        [
            (["healthz"], "GET"),
            (["metrics"], "GET"),
            (["v1", "services"], "GET"),
            (["v1", "services", "*"], "GET"),
            (["v1", "services", "*", "events"], "GET"),
            (["v1", "services", "*", "instances", "*"], "PUT, DELETE"),
            (["v1", "services", "*", "instances", "*", "renew"], "PUT"),
            (["v1", "services", "*", "instances", "*", "health"], "PUT"),
            (["v1", "locks"], "GET"),
            (["v1", "locks", "*"], "POST, DELETE"),
            (["v1", "locks", "*", "renew"], "PUT"),
            (["v1", "gateway"], "GET"),
        ]
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let segments = request.uri.path.split(separator: "/")
            guard
                let route = Self.routes.first(where: { route in
                    route.pattern.count == segments.count
                        && zip(route.pattern, segments).allSatisfy { $0 == "*" || $0 == $1 }
                })
            else { throw error }
            var response = RegistryAPI.error(
                .methodNotAllowed, field: nil, "\(request.method) is not allowed here; use \(route.methods)")
            response.headers[.allow] = route.methods
            return response
        }
    }
}
