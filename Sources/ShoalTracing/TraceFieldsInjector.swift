import Tracing

/// Collects the trace context a tracer writes (such as `traceparent`) as header fields for an
/// outgoing request: the one injector that the gateway and `ServiceClient` share.
///
/// Names are lower-cased, and a field written here replaces any earlier one of the same name,
/// so the receiver's parent is the caller's span. Apply the fields to a request with the same
/// rule: each replaces what the request carried under its name.
package struct TraceFieldsInjector: Injector {
    package init() {}

    package func inject(_ value: String, forKey key: String, into fields: inout [(String, String)]) {
        let name = key.lowercased()
        fields.removeAll { $0.0 == name }
        fields.append((name, value))
    }
}
