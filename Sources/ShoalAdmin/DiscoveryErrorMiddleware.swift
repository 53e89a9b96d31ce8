import Hummingbird
import ShoalDiscovery

/// Turns registry errors into API errors: 400 for a bad argument, 404 for an unknown
/// instance, 503 when the registry's backend (Redis) cannot be reached.
struct DiscoveryErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as DiscoveryError {
            switch error.code {
            case .invalidArgument: return RegistryAPI.error(.badRequest, field: error.field, error.message)
            case .notFound: return RegistryAPI.error(.notFound, field: nil, error.message)
            default: return RegistryAPI.error(.serviceUnavailable, field: nil, error.message)
            }
        }
    }
}
