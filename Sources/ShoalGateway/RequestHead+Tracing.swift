import Tracing

/// Reads trace context (such as `traceparent`) from a request's head, for a tracer's
/// `extract`.
struct RequestHeadExtractor: Extractor {
    func extract(key: String, from head: RequestHead) -> String? {
        head.value(named: key.lowercased())
    }
}

/// Collects the trace context a tracer writes, for the instance's request head. A field
/// written here replaces the one the client sent under the same name: the instance's parent
/// is the gateway's span. Fields the tracer does not write pass through unchanged.
struct TraceFieldsInjector: Injector {
    func inject(_ value: String, forKey key: String, into fields: inout [(String, String)]) {
        let name = key.lowercased()
        fields.removeAll { $0.0 == name }
        fields.append((name, value))
    }
}
