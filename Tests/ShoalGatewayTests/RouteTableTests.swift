import Testing

@testable import ShoalGateway

@Suite("route matching: host, longest prefix at a segment boundary, query and fragment ignored")
struct RouteTableTests {
    let table: RouteTable

    init() throws {
        table = try RouteTable([
            GatewayRoute(prefix: "/", service: "root"),
            GatewayRoute(prefix: "/api", service: "api"),
            GatewayRoute(prefix: "/api/orders/", service: "orders"),
            GatewayRoute(host: "Admin.Example.com", prefix: "/api", service: "admin"),
        ])
    }

    /// The service of the route `uri` (with `host`) matches.
    func service(_ uri: String, host: String? = nil) -> String? {
        table.match(host: host, uri: uri).map { table.routes[$0].service }
    }

    @Test("the longest prefix wins, and a prefix ends at a segment")
    func longestPrefix() {
        #expect(service("/api") == "api")
        #expect(service("/api/") == "api")
        #expect(service("/api/orders") == "orders")  // "/api/orders/" is the same route as "/api/orders"
        #expect(service("/api/orders/7") == "orders")
        #expect(service("/api/ordersx") == "api")
        #expect(service("/apiary") == "root")
        #expect(service("/") == "root")
        #expect(service("/x/y") == "root")
    }

    @Test("the query and the fragment are not part of the path")
    func queryAndFragment() {
        #expect(service("/api?x=/api/orders/1") == "api")
        #expect(service("/api/orders?x") == "orders")
        #expect(service("/apiary?/api") == "root")
        #expect(service("/api#/orders") == "api")
        #expect(service("/api/orders#frag?x") == "orders")
    }

    @Test("a route with a host takes that host only, without its port and in any case")
    func hosts() {
        #expect(service("/api/x", host: "admin.example.com") == "admin")
        #expect(service("/api/x", host: "ADMIN.example.COM:8443") == "admin")
        #expect(service("/api/x", host: "other.example.com") == "api")
        #expect(service("/api/x") == "api")
        #expect(service("/other", host: "admin.example.com") == "root")
    }

    @Test("without a catch-all route, an unmatched path has none")
    func noMatch() throws {
        let table = try RouteTable([GatewayRoute(prefix: "/api", service: "api")])
        #expect(table.match(host: nil, uri: "/apiary") == nil)
        #expect(table.match(host: nil, uri: "/") == nil)
        #expect(table.match(host: nil, uri: "/ap") == nil)
        #expect(table.match(host: nil, uri: "/api?q") == 0)
    }
}
