import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// The admin API of a `shoal serve`, as ``HTTPLockClient`` and ``HTTPRegistryClient`` reach
/// it: its address, its bearer token, and the HTTP client that sends (one of its own unless
/// one was given).
struct AdminAPI: Sendable {
    /// The admin address, without a trailing slash: `http://127.0.0.1:8081`.
    let server: String
    private let token: String?
    private let client: HTTPClient
    /// Whether ``client`` was made here (and is shut down by ``shutdown()``).
    private var ownsClient: Bool

    init(server: String, token: String?, client: HTTPClient?) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.token = token
        self.client = client ?? HTTPClient(eventLoopGroupProvider: .singleton, configuration: .failingFast)
        ownsClient = client == nil
    }

    /// An HTTPS server's API, through a client made here that trusts what `trust` says.
    init(server: String, token: String?, trust: AdminTrust) throws(AdminTrustError) {
        let configuration = try trust.httpClientConfiguration()
        self.init(server: server, token: token, client: HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration))
        ownsClient = true
    }

    /// Shuts down the HTTP client made here (none when one was given).
    func shutdown() async {
        if ownsClient { try? await client.shutdown() }
    }

    /// An answer: its status and body, and the body's JSON object (empty when it has none).
    struct Reply {
        let status: HTTPResponseStatus
        let data: Data
        let object: [String: Any]

        init(status: HTTPResponseStatus, data: Data) {
            self.status = status
            self.data = data
            object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        }

        /// The API's `error` message, or the status.
        var message: String { object["error"] as? String ?? "\(status.code) \(status.reasonPhrase)" }
    }

    /// Sends `method path` with `body` as JSON (if any), and reads up to `limit` bytes of the
    /// answer.
    ///
    /// - Throws: `CancellationError` when the task is cancelled; otherwise what the HTTP
    ///   client threw (the server cannot be reached, or `timeout` passed).
    func send(
        _ method: HTTPMethod, _ path: String, body: [String: Any]?, timeout: Duration, limit: Int
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: server + path)
        request.method = method
        if let token { request.headers.add(name: "authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(
                ByteBuffer(data: (try? JSONSerialization.data(withJSONObject: body)) ?? Data("{}".utf8)))
        }
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(timeout.totalNanoseconds))
            return Reply(status: response.status, data: Data(buffer: try await response.body.collect(upTo: limit)))
        } catch {
            if error is CancellationError || Task.isCancelled { throw CancellationError() }
            throw error
        }
    }

    /// `text` as one path segment: percent-encoded, slashes included.
    static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? text
    }
}
