import Hummingbird

/// The dashboard: one page, at `GET /dashboard`, that shows what a `shoal serve` is doing and
/// refreshes itself every second.
///
/// The page and its script and style sheet are compiled into this module and hold no data;
/// the script reads the admin API from the browser (`/v1/gateway`, `/v1/services`,
/// `/v1/services/{service}`, `/v1/locks` and `/metrics`), so the dashboard shows exactly what
/// those routes answer, behind the same bearer token. It needs none of its own: when the API
/// answers 401, the page asks for the token and keeps it in the tab's session storage.
///
/// It shows:
/// - requests, 5xx answers and retries a second, from the growth of the gateway's counters
///   in `/metrics` over the last 10 seconds, with client and upstream connections;
/// - each route with its p50 and p99 (estimated from the latency histogram, as Prometheus's
///   `histogram_quantile` does), and each instance its balancer can pick: health, ejection,
///   circuit, requests in flight, the Peak EWMA latency, requests a second and share;
/// - each registered service with its instances, and the held locks.
///
/// `GET /` redirects to it. The responses forbid framing and any script, style or fetch from
/// elsewhere (`Content-Security-Policy: default-src 'self'`), and everything the server
/// sends goes into the page as text, never as markup.
public struct DashboardRoute: Sendable {
    /// The dashboard; it has no settings, since everything it shows comes from the API.
    public init() {}

    /// Adds `GET /`, `GET /dashboard` and the page's script and style sheet to `router`.
    /// Put it beside the routes the page reads; a page whose server lacks `/v1/gateway` (an
    /// app that embeds the registry alone) shows the registry and the locks only.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/") { _, _ in
            Response(status: .found, headers: [.location: "/dashboard"])
        }
        router.get("/dashboard") { _, _ in
            Self.file(PackageResources.dashboard_html, type: "text/html; charset=utf-8")
        }
        router.get("/dashboard/dashboard.js") { _, _ in
            Self.file(PackageResources.dashboard_js, type: "text/javascript; charset=utf-8")
        }
        router.get("/dashboard/dashboard.css") { _, _ in
            Self.file(PackageResources.dashboard_css, type: "text/css; charset=utf-8")
        }
    }

    private static func file(_ bytes: [UInt8], type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-cache"
        headers[.contentSecurityPolicy] =
            "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
        headers[.xContentTypeOptions] = "nosniff"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
