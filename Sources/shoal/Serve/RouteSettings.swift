import Configuration
import Foundation
import ShoalBalancing
import ShoalCore
import ShoalGateway

/// Routes from the config file (`routes.NAME.*`) and from `--route [HOST]PREFIX=SERVICE`.
enum RouteSettings {
    /// The route `name` of the file, read through `reader` scoped to `routes.NAME`.
    static func route(named name: String, from reader: ConfigReader) throws(UsageError) -> GatewayRoute {
        let key = "routes.\(name)"
        guard let prefix = reader.string(forKey: "prefix"), let service = reader.string(forKey: "service") else {
            throw UsageError("route '\(name)' needs '\(key).prefix' and '\(key).service' in the config file")
        }
        var strategy = BalancingStrategy.standard
        if let text = reader.string(forKey: "strategy") {
            guard let named = BalancingStrategy(name: text) else {
                let names = BalancingStrategy.allDefaults.map(\.name).joined(separator: ", ")
                throw UsageError("'\(key).strategy' must be one of \(names), not '\(text)'")
            }
            strategy = named
        }
        func duration(_ field: String, _ fallback: Duration) throws(UsageError) -> Duration {
            guard let text = reader.string(forKey: ConfigKey(field)) else { return fallback }
            guard let value = Duration(parsing: text), value > .zero else {
                throw UsageError("'\(key).\(field)' must be a duration such as 10s, not '\(text)'")
            }
            return value
        }
        let perTryTimeout = try duration("per_try_timeout", GatewayRoute.defaultPerTryTimeout)
        let timeout = try duration("timeout", GatewayRoute.defaultTimeout)
        var upstreamProtocol = UpstreamProtocol.http1
        if let text = reader.string(forKey: "protocol") {
            guard let named = UpstreamProtocol(rawValue: text) else {
                throw UsageError("'\(key).protocol' must be http1 or h2c, not '\(text)'")
            }
            upstreamProtocol = named
        }
        var retryGRPCStatuses: [Int] = []
        if let text = reader.string(forKey: "retry_grpc_status") {
            for item in text.split(separator: ",") {
                guard let code = Int(item.trimmingCharacters(in: .whitespaces)) else {
                    throw UsageError(
                        "'\(key).retry_grpc_status' must list gRPC status codes, such as 14 or 8,14, not '\(text)'")
                }
                retryGRPCStatuses.append(code)
            }
        }
        do throws(GatewayConfigurationError) {
            return try GatewayRoute(
                host: reader.string(forKey: "host"), prefix: prefix, service: service,
                stripPrefix: reader.bool(forKey: "strip_prefix", default: false), strategy: strategy,
                perTryTimeout: perTryTimeout, timeout: timeout,
                retries: reader.int(forKey: "retries", default: GatewayRoute.defaultRetries),
                maxBodyBytes: reader.int(forKey: "max_body_bytes", default: GatewayRoute.defaultMaxBodyBytes),
                upstreamProtocol: upstreamProtocol, retryGRPCStatuses: retryGRPCStatuses,
                allowsEncodedSlashes: reader.bool(forKey: "allow_encoded_slashes", default: false))
        } catch {
            throw UsageError("route '\(name)': \(error.message)")
        }
    }

    /// A route from `--route [HOST]PREFIX=SERVICE`, with the default settings.
    static func route(flag: String) throws(UsageError) -> GatewayRoute {
        let usage = "--route must be [HOST]PREFIX=SERVICE, such as /api/orders=orders, not '\(flag)'"
        guard let equals = flag.lastIndex(of: "="), let slash = flag.firstIndex(of: "/"), slash < equals else {
            throw UsageError(usage)
        }
        let host = flag[..<slash]
        let service = flag[flag.index(after: equals)...]
        guard !service.isEmpty else { throw UsageError(usage) }
        do throws(GatewayConfigurationError) {
            return try GatewayRoute(
                host: host.isEmpty ? nil : String(host), prefix: String(flag[slash..<equals]), service: String(service))
        } catch {
            throw UsageError("--route \(flag): \(error.message)")
        }
    }
}
