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
/// Each check probes on its own schedule, as a child task of ``run()``: checks asked for
/// before it runs start when it does, and nothing of the checker outlives it. A check stops
/// when it is replaced, when ``stopChecking(service:id:)`` is called (at the latest one
/// interval later, without probing again), when the registry no longer knows the instance,
/// or when ``run()`` ends (graceful shutdown or cancellation).
public final class HealthChecker: Service {
    public let registry: any ServiceRegistry
    public let clock: any MonotonicClock
    /// The generation of each instance's current check: a check runs while it is current.
    /// `ended` once ``run()`` has: later checks are not taken.
    private let current = Mutex<(generations: [String: Int], next: Int, ended: Bool)>(([:], 0, false))
    private let started: AsyncStream<Started>
    private let start: AsyncStream<Started>.Continuation

    private struct Started: Sendable {
        let key: String
        let generation: Int
        let instance: ServiceInstance
        let check: HealthCheck
    }

    public init(registry: any ServiceRegistry, clock: any MonotonicClock = SystemClock()) {
        self.registry = registry
        self.clock = clock
        (started, start) = AsyncStream.makeStream()
    }

    /// Starts checking `instance` (replacing any check it had), from its current health,
    /// once ``run()`` runs. After ``run()`` has ended, it does nothing.
    public func check(_ instance: ServiceInstance, with check: HealthCheck) {
        let key = Self.key(instance.service, instance.id)
        let generation = current.withLock { current -> Int? in
            if current.ended { return nil }
            current.next += 1
            current.generations[key] = current.next
            return current.next
        }
        guard let generation else { return }
        start.yield(Started(key: key, generation: generation, instance: instance, check: check))
    }

    /// Stops checking the instance, if it was checked.
    public func stopChecking(service: String, id: String) {
        _ = current.withLock { $0.generations.removeValue(forKey: Self.key(service, id)) }
    }

    /// How many instances are checked now.
    public var checkCount: Int { current.withLock { $0.generations.count } }

    /// Runs the checks, each a child task, until graceful shutdown or cancellation; then
    /// every check has stopped.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for await check in self.started {
                    group.addTask { await self.run(check) }
                }
            }
        }
        current.withLock {
            $0.generations = [:]
            $0.ended = true
        }
        start.finish()
    }

    private func isCurrent(_ check: Started) -> Bool {
        current.withLock { $0.generations[check.key] == check.generation }
    }

    private func run(_ check: Started) async {
        let instance = check.instance
        var counter = HealthCounter(fall: check.check.fall, rise: check.check.rise, status: instance.health)
        while !Task.isCancelled, isCurrent(check) {
            let passed = await HealthProbe.run(
                check.check.probe, host: instance.address, port: instance.port, timeout: check.check.timeout)
            if let status = counter.record(passed: passed), isCurrent(check) {
                let known = try? await registry.setHealth(status, service: instance.service, id: instance.id)
                if known == false {  // deregistered or expired: nothing left to check
                    current.withLock { current in
                        if current.generations[check.key] == check.generation {
                            current.generations[check.key] = nil
                        }
                    }
                    return
                }
            }
            do {
                try await clock.sleep(until: clock.now() + check.check.interval)
            } catch {
                return
            }
        }
    }

    private static func key(_ service: String, _ id: String) -> String { service + "/" + id }
}
