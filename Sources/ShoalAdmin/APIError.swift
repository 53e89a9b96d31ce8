import Hummingbird

/// An error reply of the admin API: a status and `{"error": "...", "field": "..."}`.
struct APIError: HTTPResponseError {
    let status: HTTPResponse.Status
    let field: String?
    let message: String

    init(_ status: HTTPResponse.Status, field: String?, _ message: String) {
        self.status = status
        self.field = field
        self.message = message
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        RegistryAPI.error(status, field: field, message)
    }
}
