import ServiceLifecycle
import Tracing

#if !SHOAL_WITHOUT_OTLP
    import OTel
#endif

/// The tracer `shoal serve` gives its gateway when `--otlp-endpoint` names an OpenTelemetry
/// collector: swift-otel's, exporting spans in batches over OTLP/HTTP (protobuf). Only traces:
/// metrics stay Prometheus's on `/metrics`, and logs stay on standard error.
enum ServeTracing {
    /// The tracer and the service that exports its spans; the service must run in the
    /// process's service group, where it is the last to stop, so the last spans go out.
    ///
    /// - Parameter endpoint: The collector's base URL, such as `http://127.0.0.1:4318`, as in
    ///   `OTEL_EXPORTER_OTLP_ENDPOINT`: spans go to its `/v1/traces`.
    /// - Throws: `UsageError` for a URL that is not http or https.
    static func backend(endpoint: String) throws(UsageError) -> (tracer: any Tracer, service: any Service) {
        guard endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://"), endpoint.count > "https://".count
        else {
            throw UsageError(
                "the OTLP endpoint must be an http:// or https:// URL, such as http://127.0.0.1:4318, not '\(endpoint)' (\(ServeSetting.otlpEndpoint.sources))"
            )
        }
        #if SHOAL_WITHOUT_OTLP
            throw UsageError(
                "this shoal was built without the OTLP exporter (SHOAL_WITHOUT_OTLP, as scripts/sanitize builds it); build it without that variable to use \(ServeSetting.otlpEndpoint.sources)"
            )
        #else
            var configuration = OTel.Configuration.default
            configuration.serviceName = "shoal"
            configuration.diagnosticLogLevel = .warning
            configuration.metrics.enabled = false
            configuration.logs.enabled = false
            configuration.traces.otlpExporter.endpoint =
                (endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint) + "/v1/traces"
            configuration.traces.otlpExporter.protocol = .httpProtobuf
            do {
                let backend = try OTel.makeTracingBackend(configuration: configuration)
                return (backend.factory, backend.service)
            } catch {
                throw UsageError("the OTLP exporter cannot be set up (\(ServeSetting.otlpEndpoint.sources)): \(error)")
            }
        #endif
    }
}
