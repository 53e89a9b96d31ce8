import NIOCore

/// What an ``HTTP2ClientStream`` serves its request with: the gateway's ``ProxyHandler``,
/// which takes the request as HTTP/1.1 bytes and answers through the stream.
protocol HTTP2StreamExchange: AnyObject {
    /// The request's head, written as HTTP/1.1 with its fields found: the stream's first.
    func receivedHead(_ head: RequestHead)
    /// Bytes of the request's body, as HTTP/1.1 frames it.
    func received(_ bytes: ByteBuffer)
    /// The connection's read ended.
    func readComplete()
    /// The stream can take more of the response, or cannot.
    func clientWritabilityChanged(_ writable: Bool)
    /// The stream closed: whatever was not answered is abandoned.
    func clientClosed()
    /// The deadline it gave its connection (``HTTP2ServerConnection/schedule(_:at:)``) passed.
    func deadlinePassed()
}

extension ProxyHandler: HTTP2StreamExchange {}
