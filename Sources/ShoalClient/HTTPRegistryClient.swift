import AsyncHTTPClient
import Foundation
import NIOHTTP1
import ShoalCore
import ShoalDiscovery

/// The registry of a `shoal serve`, through its HTTP API: for services that register
/// themselves with a running `shoal serve`, and for clients that find instances there.
///
/// ```swift
/// let registry = HTTPRegistryClient(server: "http://127.0.0.1:8081", token: secret)
/// let client = ServiceClient(discovery: registry)
/// ```
///
/// ``watch(_:)`` and ``subscribe(_:)`` follow a service with blocking queries for changes
/// (`?index=N&wait=30s&changes=true`), so a change arrives as soon as the server sees it,
/// and only what changed crosses the network: the whole service comes once, and again only
/// when the server no longer holds the changes since the client's index. When the server
/// cannot be reached, a subscription yields its last snapshot marked stale and keeps asking,
/// once a second.
/// Instances read back carry the server's `registeredAt` and `renewedAt` (wall-clock
/// milliseconds).
///
/// Call ``shutdown()`` when done with a client that made its own `HTTPClient`.
public final class HTTPRegistryClient: ServiceDiscovery, HealthCheckingRegistry {
    /// The server's admin address, such as `http://127.0.0.1:8081`.
    public var server: String { api.server }
    private let api: AdminAPI
    /// How long a blocking query waits on the server.
    static let blockingWait = 30

    /// - Parameters:
    ///   - server: the admin listener's URL, `http://HOST:PORT`.
    ///   - token: the bearer token the server was started with, if any.
    ///   - client: the HTTP client to use; by default one of its own, set up as
    ///     `HTTPClient.Configuration.failingFast` (a refused connection fails at once).
    public init(server: String, token: String? = nil, client: HTTPClient? = nil) {
        api = AdminAPI(server: server, token: token, client: client)
    }

    /// A client of an HTTPS admin API (`https://HOST:PORT`).
    ///
    /// - Parameter trust: the CA the server's certificate must chain to, and for mutual TLS
    ///   the client's certificate and key.
    /// - Throws: ``AdminTrustError`` when a file of `trust` cannot be used.
    public init(server: String, token: String? = nil, trust: AdminTrust) throws(AdminTrustError) {
        api = try AdminAPI(server: server, token: token, trust: trust)
    }

    /// Shuts down the HTTP client this registry client made for itself.
    public func shutdown() async {
        await api.shutdown()
    }

    // MARK: ServiceRegistry

    public func register(_ instance: ServiceInstance, ttl: Duration) async throws -> ServiceInstance {
        try await register(instance, ttl: ttl, check: nil)
    }

    public func register(_ instance: ServiceInstance, ttl: Duration, check: HealthCheck?) async throws
        -> ServiceInstance
    {
        var body: [String: Any] = [
            "address": instance.address, "port": instance.port, "weight": instance.weight,
            "metadata": instance.metadata, "health": instance.health.rawValue, "ttl": ttl.apiText,
        ]
        if let zone = instance.zone { body["zone"] = zone }
        if let check { body["check"] = Self.json(check) }
        let reply = try await send(.PUT, Self.path(instance.service, instance.id), body: body)
        guard reply.status == .ok else { throw Self.failure(reply, "register \(instance.id) of \(instance.service)") }
        return try Self.instance(reply.data)
    }

    public func renew(service: String, id: String) async throws -> Bool {
        let reply = try await send(.PUT, Self.path(service, id) + "/renew")
        if reply.status == .notFound { return false }
        guard reply.status == .ok else { throw Self.failure(reply, "renew \(id) of \(service)") }
        return true
    }

    public func deregister(service: String, id: String) async throws -> Bool {
        let reply = try await send(.DELETE, Self.path(service, id))
        guard reply.status == .noContent else { throw Self.failure(reply, "deregister \(id) of \(service)") }
        return true
    }

    /// Sets the instance's health on the server (`PUT …/health`); its TTL and check stay as
    /// they are, and a check's next verdict replaces what is set here. `false` if the
    /// instance is unknown.
    public func setHealth(_ health: HealthStatus, service: String, id: String) async throws -> Bool {
        let reply = try await send(.PUT, Self.path(service, id) + "/health", body: ["health": health.rawValue])
        if reply.status == .notFound { return false }
        guard reply.status == .ok else { throw Self.failure(reply, "set the health of \(id) of \(service)") }
        return true
    }

    // MARK: ServiceDiscovery

    public func lookup(_ service: String) async throws -> ServiceSnapshot {
        try await snapshot(service, query: "")
    }

    public func services() async throws -> [ServiceSummary] {
        let reply = try await send(.GET, "/v1/services")
        guard reply.status == .ok else { throw Self.failure(reply, "list services") }
        do {
            return try JSONDecoder().decode(ServicesBody.self, from: reply.data).services.map {
                ServiceSummary(
                    service: $0.service, index: $0.index, passing: $0.passing, warning: $0.warning,
                    critical: $0.critical)
            }
        } catch {
            throw DiscoveryError(.backendFailure, "\(server) answered a service list that cannot be read: \(error)")
        }
    }

    /// Follows `service` with blocking queries for changes. They run in the task that reads
    /// the stream, one `next()` at a time, until there is news: nothing runs while nobody
    /// reads, and cancelling the reader stops them (and ends the stream).
    public func watch(_ service: String) -> AsyncStream<ServiceEvent> {
        let follower = Follower(client: self, service: service)
        return AsyncStream(unfolding: { await follower.next() })
    }

    /// Snapshots built from ``watch(_:)``'s changes.
    public func subscribe(_ service: String) -> AsyncStream<ServiceSnapshot> {
        let follower = Follower(client: self, service: service)
        return AsyncStream(unfolding: { await follower.next() != nil ? follower.last : nil })
    }

    /// Asks the server what changed since `index` (`?index=N&wait=…&changes=true`). `clock`
    /// is not used: the server times the wait.
    public func changes(
        _ service: String, after index: UInt64, wait: Duration, clock: any MonotonicClock
    ) async throws -> ServiceEvent {
        try await changes(service, after: index, wait: wait)
    }

    /// One watch of a service: the last state it passed on, kept up to date by applying each
    /// change, and the loop of blocking queries.
    ///
    /// `@unchecked Sendable`: it is touched only from `AsyncStream(unfolding:)`'s closure, which
    /// the stream calls from its single reader, one call at a time.
    private final class Follower: @unchecked Sendable {
        let client: HTTPRegistryClient
        let service: String
        private(set) var last: ServiceSnapshot?

        init(client: HTTPRegistryClient, service: String) {
            self.client = client
            self.service = service
        }

        func next() async -> ServiceEvent? {
            while !Task.isCancelled {
                do {
                    guard let previous = last else {
                        let snapshot = try await client.snapshot(service, query: "")
                        last = snapshot
                        return .snapshot(snapshot)
                    }
                    let event = try await client.changes(
                        service, after: previous.index, wait: .seconds(HTTPRegistryClient.blockingWait))
                    switch event {
                    case .snapshot(let snapshot):
                        last = snapshot
                    case .change(let change):
                        // An empty change is a wait that ended, news only to a stale view.
                        if change.isEmpty && !previous.isStale { continue }
                        last = previous.applying(change)
                    }
                    return event
                } catch {
                    if Task.isCancelled { return nil }
                    if let previous = last, !previous.isStale {
                        let stale = ServiceSnapshot(
                            service: previous.service, index: previous.index, instances: previous.instances,
                            isStale: true)
                        last = stale
                        return .snapshot(stale)
                    }
                    do {
                        try await Task.sleep(for: .seconds(1))
                    } catch {
                        return nil
                    }
                }
            }
            return nil
        }
    }

    // MARK: Requests

    /// The registry error an unexpected answer means.
    private static func failure(_ reply: AdminAPI.Reply, _ what: String) -> DiscoveryError {
        let message = "cannot \(what): \(reply.message)"
        switch reply.status.code {
        case 400, 413: return DiscoveryError(.invalidArgument, field: reply.object["field"] as? String, message)
        case 404: return DiscoveryError(.notFound, message)
        default: return DiscoveryError(.backendFailure, message)
        }
    }

    private func changes(_ service: String, after index: UInt64, wait: Duration) async throws -> ServiceEvent {
        let seconds = max(0, Int((wait + .milliseconds(999)).components.seconds))
        let reply = try await send(
            .GET, "/v1/services/\(AdminAPI.segment(service))?index=\(index)&wait=\(seconds)s&changes=true",
            waiting: wait)
        guard reply.status == .ok else { throw Self.failure(reply, "ask what changed in \(service)") }
        do {
            let body = try JSONDecoder().decode(EventBody.self, from: reply.data)
            switch body.kind {
            case "changes":
                return .change(
                    ServiceChange(
                        service: body.service, index: body.index,
                        upserted: try (body.upserted ?? []).map { try $0.instance() }, removed: body.removed ?? []))
            case "snapshot":
                return .snapshot(
                    ServiceSnapshot(
                        service: body.service, index: body.index,
                        instances: try (body.instances ?? []).map { try $0.instance() }, isStale: body.stale ?? false))
            default:
                throw DiscoveryError(.backendFailure, "unknown kind '\(body.kind)'")
            }
        } catch {
            throw DiscoveryError(
                .backendFailure, "\(server) answered the changes of \(service) in a way that cannot be read: \(error)")
        }
    }

    private func snapshot(_ service: String, query: String, waiting: Duration = .zero) async throws -> ServiceSnapshot {
        let reply = try await send(.GET, "/v1/services/\(AdminAPI.segment(service))\(query)", waiting: waiting)
        guard reply.status == .ok else { throw Self.failure(reply, "look up \(service)") }
        do {
            let body = try JSONDecoder().decode(SnapshotBody.self, from: reply.data)
            return ServiceSnapshot(
                service: body.service, index: body.index, instances: try body.instances.map { try $0.instance() },
                isStale: body.stale)
        } catch {
            throw DiscoveryError(
                .backendFailure, "\(server) answered a snapshot of \(service) that cannot be read: \(error)")
        }
    }

    private func send(
        _ method: HTTPMethod, _ path: String, body: [String: Any]? = nil, waiting: Duration = .zero
    ) async throws -> AdminAPI.Reply {
        do {
            return try await api.send(method, path, body: body, timeout: .seconds(10) + waiting, limit: 16 << 20)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw DiscoveryError(.backendFailure, "the registry at \(server) cannot be reached: \(error)")
        }
    }

    private static func path(_ service: String, _ id: String) -> String {
        "/v1/services/\(AdminAPI.segment(service))/instances/\(AdminAPI.segment(id))"
    }

    private static func json(_ check: HealthCheck) -> [String: Any] {
        var body: [String: Any] = [
            "interval": check.interval.apiText, "timeout": check.timeout.apiText, "fall": check.fall,
            "rise": check.rise,
        ]
        switch check.probe {
        case .http(let path): body["http"] = path
        case .tcp: body["tcp"] = true
        }
        return body
    }

    private static func instance(_ data: Data) throws -> ServiceInstance {
        do {
            return try JSONDecoder().decode(InstanceBody.self, from: data).instance()
        } catch {
            throw DiscoveryError(.backendFailure, "the registry answered an instance that cannot be read: \(error)")
        }
    }
}

/// The API's JSON, as read back.
private struct InstanceBody: Decodable {
    let service: String
    let id: String
    let address: String
    let port: Int
    let weight: Double
    let zone: String?
    let metadata: [String: String]
    let health: String
    let registeredAt: Int64
    let renewedAt: Int64

    enum CodingKeys: String, CodingKey {
        case service, id, address, port, weight, zone, metadata, health
        case registeredAt = "registered_at"
        case renewedAt = "renewed_at"
    }

    func instance() throws -> ServiceInstance {
        try ServiceInstance(
            service: service, id: id, address: address, port: port, weight: weight, zone: zone, metadata: metadata,
            health: HealthStatus(rawValue: health) ?? .critical
        ).stored(registeredAt: registeredAt, renewedAt: renewedAt)
    }
}

private struct SnapshotBody: Decodable {
    let service: String
    let index: UInt64
    let stale: Bool
    let instances: [InstanceBody]
}

/// A blocking query's answer with `changes=true`: a change or a snapshot, told by `kind`.
private struct EventBody: Decodable {
    let kind: String
    let service: String
    let index: UInt64
    let upserted: [InstanceBody]?
    let removed: [String]?
    let stale: Bool?
    let instances: [InstanceBody]?
}

private struct ServicesBody: Decodable {
    struct Summary: Decodable {
        let service: String
        let index: UInt64
        let passing: Int
        let warning: Int
        let critical: Int
    }

    let services: [Summary]
}
