import ShoalTesting
import Synchronization

/// The owners of instances on the network lab, as the registry API asks them to behave: each
/// registers its instance through the first of its `shoal serve` hosts that answers (as a
/// client given every registry's address does), renews it, and registers it again when a
/// renewal answers 404.
final class InstanceOwners: Sendable {
    private struct Owned: Sendable {
        let id: String
        let service: String
        let address: String
        let port: Int
        let registries: [TestHost]
    }

    private let ttl: String
    private let timeout: Double
    private let owned = Mutex<[Owned]>([])
    private let notFoundCount = Atomic<Int>(0)

    /// Owners that register with `ttl` (a duration as the API reads it, such as `"6s"`) and
    /// give each registry `timeout` seconds to answer before trying the next.
    init(ttl: String, timeout: Double) {
        self.ttl = ttl
        self.timeout = timeout
    }

    /// Renewals that answered 404, so far.
    var notFound: Int { notFoundCount.load(ordering: .relaxed) }

    /// Registers `id` at `address:port` in `service`, through the first of `registries` that
    /// answers, and keeps it there from now on.
    func add(_ id: String, service: String = "web", address: String, port: Int, through registries: [TestHost]) {
        let instance = Owned(id: id, service: service, address: address, port: port, registries: registries)
        owned.withLock { $0.append(instance) }
        register(instance)
    }

    /// Renews every instance every `interval` until cancelled.
    func renew(every interval: Duration) async {
        while !Task.isCancelled {
            for instance in owned.withLock({ $0 }) {
                let path = "/v1/services/\(instance.service)/instances/\(instance.id)/renew"
                if firstAnswer("PUT", path, through: instance.registries)?.status == 404 {
                    notFoundCount.add(1, ordering: .relaxed)
                    register(instance)
                }
            }
            try? await Task.sleep(for: interval)
        }
    }

    private func register(_ instance: Owned) {
        _ = firstAnswer(
            "PUT", "/v1/services/\(instance.service)/instances/\(instance.id)", through: instance.registries,
            body: #"{"address":"\#(instance.address)","port":\#(instance.port),"ttl":"\#(ttl)"}"#)
    }

    private func firstAnswer(
        _ method: String, _ path: String, through registries: [TestHost], body: String? = nil
    ) -> (status: Int, body: String)? {
        for registry in registries {
            if let answer = LabHTTP.request(method, registry, port: 8081, path, body: body, timeout: timeout) {
                return answer
            }
        }
        return nil
    }
}
