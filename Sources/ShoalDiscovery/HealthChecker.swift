import ServiceLifecycle
import ShoalCore
import Synchronization

/// Runs the active checks of registered instances and reports status changes to the
/// registry, where watchers hear them like any other change.
///
/// ```swift
/// let checker = HealthChecker(registry: registry)
/// checker.check(instance, with: try HealthCheck(.http(path: "/health"), interval: .seconds(5)))
/// ```
///
/// Each check probes on its own schedule. A check stops when it is replaced, when
/// ``stopChecking(service:id:)`` is called, when the registry no longer knows the instance,
/// or when ``run()`` ends (graceful shutdown or cancellation).
public final class HealthChecker: Service {
    public let registry: any ServiceRegistry
    public let clock: any MonotonicClock
    private let checks = Mutex<[String: Task<Void, Never>]>([:])

    public init(registry: any ServiceRegistry, clock: any MonotonicClock = SystemClock()) {
        self.registry = registry
        self.clock = clock
    }

    /// Starts checking `instance` (replacing any check it had), from its current health.
    public func check(_ instance: ServiceInstance, with check: HealthCheck) {
        let key = Self.key(instance.service, instance.id)
        let task = Task { [registry, clock] in
            var counter = HealthCounter(fall: check.fall, rise: check.rise, status: instance.health)
            while !Task.isCancelled {
                let passed = await HealthProbe.run(
                    check.probe, host: instance.address, port: instance.port, timeout: check.timeout)
                if let status = counter.record(passed: passed) {
                    let known = try? await registry.setHealth(status, service: instance.service, id: instance.id)
                    if known == false { break }  // deregistered or expired: nothing left to check
                }
                do {
                    try await clock.sleep(until: clock.now() + check.interval)
                } catch {
                    break
                }
            }
        }
        checks.withLock { $0.updateValue(task, forKey: key) }?.cancel()
    }

    /// Stops checking the instance, if it was checked.
    public func stopChecking(service: String, id: String) {
        checks.withLock { $0.removeValue(forKey: Self.key(service, id)) }?.cancel()
    }

    /// How many instances are checked now.
    public var checkCount: Int { checks.withLock { $0.count } }

    /// Waits for graceful shutdown or cancellation, then stops every check.
    public func run() async throws {
        try? await gracefulShutdown()
        let tasks = checks.withLock { checks in
            defer { checks = [:] }
            return Array(checks.values)
        }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }

    private static func key(_ service: String, _ id: String) -> String { service + "/" + id }
}
