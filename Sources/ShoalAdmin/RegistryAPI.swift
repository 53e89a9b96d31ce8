import Foundation
import Hummingbird
import ServiceLifecycle
import ShoalCore
import ShoalDiscovery

/// The registry's HTTP API, JSON throughout (the OpenAPI description is
/// `Docs/registry-api.yaml`):
///
/// | request | meaning |
/// |---|---|
/// | `PUT /v1/services/{service}/instances/{id}` | register or replace; 200 with the instance |
/// | `PUT /v1/services/{service}/instances/{id}/renew` | renew; 200, or 404 if unknown |
/// | `PUT /v1/services/{service}/instances/{id}/health` | set `{"health"}` alone; 200 with the instance, or 404 |
/// | `DELETE /v1/services/{service}/instances/{id}` | remove; 204 |
/// | `GET /v1/services` | every service with counts by health |
/// | `GET /v1/services/{service}` | the snapshot; `?index=N&wait=30s` blocks until it changes, and `&changes=true` answers with what changed since `N` |
/// | `GET /v1/services/{service}/events` | server-sent events: the snapshot, then each change; `?snapshots=true` sends a snapshot per change |
/// | `GET /healthz` | liveness |
///
/// Bad input gets 400 with `{"error": "...", "field": "..."}` and changes nothing; a body
/// over 64 KiB gets 413; a registry backend that cannot be reached gets 503.
public struct RegistryAPI: Sendable {
    public let registry: any ServiceRegistry & ServiceDiscovery
    public let checker: HealthChecker
    /// What paces event streams.
    public let clock: any MonotonicClock
    /// The JSON of instances sent in changes, encoded once for all watchers.
    private let instanceJSON = InstanceJSONCache()
    /// Each service's blocking-query pacing, for the services queried lately.
    private let blockingPacing = BoundedMemo<String, BlockingQueryPacing>(limit: 4096)
    /// The largest request body accepted. 64 KiB.
    public static let maximumBodySize = 64 * 1024

    public init(
        registry: any ServiceRegistry & ServiceDiscovery, checker: HealthChecker,
        clock: any MonotonicClock = SystemClock()
    ) {
        self.registry = registry
        self.checker = checker
        self.clock = clock
    }

    /// Adds the routes to `router`.
    public func addRoutes<Context: AdminCallerContext>(to router: Router<Context>) {
        router.add(middleware: MethodNotAllowedMiddleware())
        router.add(middleware: DiscoveryErrorMiddleware())
        router.get("/healthz") { _, _ in Self.json(.ok, ["status": "ok"]) }
        let v1 = router.group("/v1")
        v1.get("/services") { _, _ in try await listServices() }
        v1.get("/services/:service") { request, context in try await snapshot(request, context) }
        v1.get("/services/:service/events") { request, context in try events(request, context) }
        v1.put("/services/:service/instances/:id") { request, context in try await register(request, context) }
        v1.put("/services/:service/instances/:id/renew") { _, context in try await renew(context) }
        v1.put("/services/:service/instances/:id/health") { request, context in
            try await setHealth(request, context)
        }
        v1.delete("/services/:service/instances/:id") { _, context in try await deregister(context) }
    }

    private func register<Context: AdminCallerContext>(_ request: Request, _ context: Context) async throws -> Response
    {
        let (service, id) = try names(context)
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maximumBodySize)
        } catch {
            return Self.error(.contentTooLarge, field: "body", "must be at most \(Self.maximumBodySize) bytes")
        }
        let parsed: InstanceRequest
        do {
            parsed = try InstanceRequest(service: service, id: id, body: Data(buffer: body))
        } catch {
            return Self.error(.badRequest, field: error.field, error.message)
        }
        let stored = try await registry.register(parsed.instance, ttl: parsed.ttl)
        AdminAudit.record("register", "\(service)/\(id)", context)
        if let check = parsed.check {
            checker.check(stored, with: check)
        } else {
            checker.stopChecking(service: service, id: id)
        }
        return Self.json(.ok, buffer: InstanceBody(instance: stored).json)
    }

    private func renew<Context: AdminCallerContext>(_ context: Context) async throws -> Response {
        let (service, id) = try names(context)
        guard try await registry.renew(service: service, id: id) else {
            return Self.error(.notFound, field: nil, "no instance \(id) of \(service): register it again")
        }
        return Self.json(.ok, ["service": service, "id": id])
    }

    /// Sets an instance's health without registering it again (its TTL and check stay as
    /// they are; a check's next verdict replaces what is set here).
    private func setHealth<Context: AdminCallerContext>(_ request: Request, _ context: Context) async throws -> Response
    {
        let (service, id) = try names(context)
        guard let body = try? await request.body.collect(upTo: Self.maximumBodySize) else {
            return Self.error(.contentTooLarge, field: "body", "must be at most \(Self.maximumBodySize) bytes")
        }
        guard let object = JSON.object(Data(buffer: body)) else {
            return Self.error(.badRequest, field: "body", "must be a JSON object")
        }
        if let unknown = object.keys.sorted().first(where: { $0 != "health" }) {
            return Self.error(.badRequest, field: unknown, "is not a field here: send {\"health\": ...} alone")
        }
        guard let raw = object["health"] as? String, let health = HealthStatus(rawValue: raw) else {
            return Self.error(.badRequest, field: "health", "must be passing, warning or critical")
        }
        guard try await registry.setHealth(health, service: service, id: id),
            let instance = try await registry.lookup(service).instances.first(where: { $0.id == id })
        else {
            return Self.error(.notFound, field: nil, "no instance \(id) of \(service): register it first")
        }
        return Self.json(.ok, buffer: InstanceBody(instance: instance).json)
    }

    private func deregister<Context: AdminCallerContext>(_ context: Context) async throws -> Response {
        let (service, id) = try names(context)
        checker.stopChecking(service: service, id: id)
        if try await registry.deregister(service: service, id: id) {
            AdminAudit.record("deregister", "\(service)/\(id)", context)
        }
        return Response(status: .noContent)
    }

    private func listServices() async throws -> Response {
        let services = try await registry.services().map { summary in
            [
                "service": summary.service, "index": summary.index, "passing": summary.passing,
                "warning": summary.warning, "critical": summary.critical,
            ] as [String: Any]
        }
        return Self.json(.ok, ["services": services])
    }

    private func snapshot<Context: AdminCallerContext>(_ request: Request, _ context: Context) async throws -> Response
    {
        let service = try name(context, "service")
        let query = request.uri.queryParameters
        if let rawIndex = query["index"] {
            guard let index = UInt64(rawIndex) else {
                return Self.error(.badRequest, field: "index", "must be a whole number ≥ 0")
            }
            var wait = Duration.seconds(30)
            if let rawWait = query["wait"] {
                guard let parsed = Duration(parsing: String(rawWait)), parsed <= .seconds(600) else {
                    return Self.error(.badRequest, field: "wait", "must be a duration of at most 10m, such as 30s")
                }
                wait = parsed
            }
            guard let changes = Self.flag(query["changes"]) else {
                return Self.error(.badRequest, field: "changes", "must be true or false")
            }
            // In a burst of changes, a pause first: the answer then carries many.
            let pause = blockingPacing[service]?.pauseBeforeWaiting ?? .zero
            if pause > .zero { try? await clock.sleep(until: clock.now() + pause) }
            if changes {
                let event = try await blockingChanges(service, after: index, wait: wait)
                answeredBlockingQuery(service, index: event.index)
                return Self.json(.ok, buffer: EventBody.json(event, instances: instanceJSON))
            }
            let snapshot = try await blockingLookup(service, after: index, wait: wait)
            answeredBlockingQuery(service, index: snapshot.index)
            return Self.json(.ok, buffer: SnapshotBody(snapshot: snapshot).json)
        }
        if query["changes"] != nil {
            return Self.error(.badRequest, field: "changes", "needs index: what changed since which index?")
        }
        return Self.json(.ok, buffer: SnapshotBody(snapshot: try await registry.lookup(service)).json)
    }

    /// A query flag: absent or `false` is false, `true` is true, anything else is `nil`.
    private static func flag(_ value: Substring?) -> Bool? {
        switch value {
        case nil, "false"?: false
        case "true"?: true
        default: nil
        }
    }

    /// Notes a blocking query's answer, for the service's pacing.
    private func answeredBlockingQuery(_ service: String, index: UInt64) {
        // Two answers at once may each note theirs on the same old value: one is lost, which
        // only makes the measured window longer.
        var pacing = blockingPacing[service] ?? BlockingQueryPacing()
        pacing.answered(index: index, at: clock.now())
        blockingPacing.remember(pacing, for: service)
    }

    /// ``blockingLookup(_:after:wait:)`` for changes.
    private func blockingChanges(_ service: String, after index: UInt64, wait: Duration) async throws -> ServiceEvent {
        do {
            return try await cancelWhenGracefulShutdown {
                try await registry.changes(service, after: index, wait: wait, clock: SystemClock())
            }
        } catch is CancellationError {
            return .snapshot(try await registry.lookup(service))
        }
    }

    /// A blocking query that graceful shutdown ends at once with the snapshot as it is then,
    /// as a wait that ran out would: otherwise the server would wait for it, up to 10 minutes.
    private func blockingLookup(_ service: String, after index: UInt64, wait: Duration) async throws -> ServiceSnapshot
    {
        do {
            return try await cancelWhenGracefulShutdown {
                try await registry.lookup(service, after: index, wait: wait)
            }
        } catch is CancellationError {
            return try await registry.lookup(service)
        }
    }

    /// Server-sent events: `snapshot` first (and again when the watcher fell too far behind),
    /// then a `change` for each change, several merged when the client reads slowly; with
    /// `?snapshots=true`, a `snapshot` for every change instead.
    private func events<Context: AdminCallerContext>(_ request: Request, _ context: Context) throws -> Response {
        let service = try name(context, "service")
        guard let snapshotsOnly = Self.flag(request.uri.queryParameters["snapshots"]) else {
            return Self.error(.badRequest, field: "snapshots", "must be true or false")
        }
        let snapshots = snapshotsOnly ? registry.subscribe(service) : nil
        let events = snapshotsOnly ? nil : registry.watch(service)
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        let clock = clock
        let instanceJSON = instanceJSON
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                // Ends with the server's graceful shutdown, which otherwise waits for it forever.
                var pacing = EventPacing()
                var lastTaken: MonotonicInstant?
                func paced(_ event: ServiceEvent) async throws {
                    let now = clock.now()
                    let pause = pacing.pause(after: event, takenAfter: lastTaken.map { now - $0 })
                    lastTaken = now
                    try await writer.write(Self.serverSentEvent(event, instances: instanceJSON))
                    if pause > .zero { try? await clock.sleep(until: clock.now() + pause) }
                }
                if let snapshots {
                    for try await snapshot in snapshots.cancelOnGracefulShutdown() {
                        try await paced(.snapshot(snapshot))
                    }
                }
                if let events {
                    for try await event in events.cancelOnGracefulShutdown() { try await paced(event) }
                }
                try await writer.finish(nil)
            })
    }

    /// One event of the stream: its name, the index as its id, and the JSON.
    static func serverSentEvent(_ event: ServiceEvent, instances: InstanceJSONCache) -> ByteBuffer {
        let (name, data) =
            switch event {
            case .snapshot(let snapshot): ("snapshot", SnapshotBody(snapshot: snapshot).json)
            case .change(let change): ("change", ChangeBody.json(change, instances: instances))
            }
        var buffer = ByteBuffer(string: "event: \(name)\nid: \(event.index)\ndata: ")
        buffer.writeImmutableBuffer(data)
        buffer.writeString("\n\n")
        return buffer
    }

    private func names<Context: AdminCallerContext>(_ context: Context) throws -> (String, String) {
        (try name(context, "service"), try name(context, "id"))
    }

    private func name<Context: AdminCallerContext>(_ context: Context, _ parameter: String) throws -> String {
        let value = try context.parameters.require(parameter)
        do {
            _ = try ServiceInstance(service: value, id: "x", address: "x", port: 1)
        } catch {
            throw APIError(.badRequest, field: parameter, "\(parameter) \(error.message.dropFirst("service ".count))")
        }
        return value
    }

    static func json(_ status: HTTPResponse.Status, _ value: Any) -> Response {
        json(status, data: JSON.encode(value))
    }

    static func json(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        json(status, data: JSON.encode(value))
    }

    static func json(_ status: HTTPResponse.Status, data: Data) -> Response {
        json(status, buffer: ByteBuffer(data: data))
    }

    static func json(_ status: HTTPResponse.Status, buffer: ByteBuffer) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: buffer))
    }

    static func error(_ status: HTTPResponse.Status, field: String?, _ message: String) -> Response {
        var body: [String: Any] = ["error": message]
        body["field"] = field ?? NSNull()
        return json(status, body)
    }
}
