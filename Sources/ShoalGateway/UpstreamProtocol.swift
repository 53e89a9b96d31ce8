/// How the gateway talks to a route's instances.
public enum UpstreamProtocol: String, Sendable, Hashable, CaseIterable {
    /// HTTP/1.1 on pooled keep-alive connections: the default. An HTTP/2 request is
    /// translated, as nginx and Envoy translate it.
    case http1
    /// HTTP/2 without TLS (prior knowledge): each request is a stream on a shared connection.
    /// gRPC services need it.
    case h2c
}
