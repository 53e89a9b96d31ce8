import ShoalTracing
import Tracing

/// A server span per routed request, through swift-distributed-tracing, named and tagged
/// after OpenTelemetry's HTTP conventions. It continues the trace the client's headers carry
/// and the instance's request carries it on, with the gateway's span as parent.
extension Exchange {
    /// Starts the span of a routed request and collects its context in `traceFields`, for
    /// the instance's request head.
    static func startSpan(
        tracer: any Tracer, request: RequestHead, route: GatewayRoute, requestID: RequestID, clientIP: String?,
        http2: Bool, traceFields: inout [(String, String)]
    ) -> any Span {
        var context = ServiceContext.topLevel
        tracer.extract(request, into: &context, using: RequestHeadExtractor())
        let method = request.methodName
        let span = tracer.startSpan("\(method) \(route.prefix)", context: context, ofKind: .server)
        // A span the sampler dropped (most, with a ratio sampler) keeps nothing: building its
        // attributes cost about as much as starting it. Its context still goes on.
        if span.isRecording {
            setAttributes(
                of: span, method: method, request: request, route: route, requestID: requestID, clientIP: clientIP,
                http2: http2)
        }
        tracer.inject(span.context, into: &traceFields, using: TraceFieldsInjector())
        return span
    }

    private static func setAttributes(
        of span: any Span, method: String, request: RequestHead, route: GatewayRoute, requestID: RequestID,
        clientIP: String?, http2: Bool
    ) {
        span.updateAttributes { attributes in
            attributes["http.request.method"] = method
            attributes["http.route"] = route.prefix
            attributes["url.path"] = String(request.targetString.prefix { $0 != "?" })
            attributes["shoal.service"] = route.service
            attributes["shoal.request_id"] = requestID.description
            if let clientIP { attributes["client.address"] = clientIP }
            // The client's protocol: a stream's head is the HTTP/1.1 one the bridge wrote.
            attributes["network.protocol.version"] = http2 ? "2" : request.minorVersion == 0 ? "1.0" : "1.1"
        }
    }

    /// Notes a try on the span: which instance, and which try it is.
    func spanTry(address: String, tries: Int) {
        guard let span, span.isRecording else { return }
        span.addEvent(
            SpanEvent(name: "try", attributes: ["server.address": "\(address)", "shoal.try": .int64(Int64(tries))]))
    }

    /// Notes why a try failed.
    func spanTryFailed(_ reason: String) {
        guard let span, span.isRecording else { return }
        span.addEvent(SpanEvent(name: "try failed", attributes: ["shoal.reason": "\(reason)"]))
    }

    /// Ends the span with the status the client got, or with `error` when the client got
    /// none; `tries` is how many tries the request took. A 5xx or an error marks the span
    /// failed. Later calls do nothing.
    func endSpan(status: Int?, tries: Int, error: String? = nil) {
        guard let span else { return }
        self.span = nil
        guard span.isRecording else {
            span.end()
            return
        }
        span.updateAttributes { attributes in
            if let status { attributes["http.response.status_code"] = status }
            if tries > 0 { attributes["shoal.tries"] = tries }
            // OpenTelemetry's RPC conventions: a gRPC call's status code.
            if let grpcStatus = self.grpcStatus { attributes["rpc.grpc.status_code"] = grpcStatus }
            if let error {
                attributes["error.type"] = "\(error)"
            } else if let status, status >= 500 {
                attributes["error.type"] = "\(status)"
            }
        }
        if let error {
            span.setStatus(SpanStatus(code: .error, message: error))
        } else if let status, status >= 500 {
            span.setStatus(SpanStatus(code: .error))
        }
        span.end()
    }
}
