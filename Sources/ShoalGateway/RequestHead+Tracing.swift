import Tracing

/// Reads trace context (such as `traceparent`) from a request's head, for a tracer's
/// `extract`.
struct RequestHeadExtractor: Extractor {
    func extract(key: String, from head: RequestHead) -> String? {
        head.value(named: key.lowercased())
    }
}
