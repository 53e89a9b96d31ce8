import NIOHTTP1
import Tracing

/// Writes trace context (such as `traceparent`) into a request's headers, replacing any
/// value of the same name, for a tracer's `inject`.
struct HTTPHeadersInjector: Injector {
    func inject(_ value: String, forKey key: String, into headers: inout HTTPHeaders) {
        headers.replaceOrAdd(name: key, value: value)
    }
}
