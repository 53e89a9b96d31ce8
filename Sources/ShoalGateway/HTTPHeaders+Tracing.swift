import NIOHTTP1
import Tracing

/// Reads trace context (such as `traceparent`) from request headers, for a tracer's
/// `extract`.
struct HTTPHeadersExtractor: Extractor {
    func extract(key: String, from headers: HTTPHeaders) -> String? {
        headers.first(name: key)
    }
}

/// Writes trace context into request headers, for a tracer's `inject`. A value replaces the
/// one the client sent under the same name: the instance's parent is the gateway's span.
/// Headers the tracer does not write pass through unchanged.
struct HTTPHeadersInjector: Injector {
    func inject(_ value: String, forKey key: String, into headers: inout HTTPHeaders) {
        headers.replaceOrAdd(name: key, value: value)
    }
}
