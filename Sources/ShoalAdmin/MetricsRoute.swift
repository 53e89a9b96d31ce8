import Hummingbird

/// `GET /metrics`: the Prometheus text exposition that `render` produces (`shoal serve`
/// renders swift-prometheus's registry, which swift-metrics feeds).
public struct MetricsRoute: Sendable {
    let render: @Sendable () -> String

    public init(render: @escaping @Sendable () -> String) {
        self.render = render
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: render())))
        }
    }
}
