import NIOCore
import NIOSSL

/// What instances are told of the client's TLS certificate (mutual TLS).
extension ProxyHandler {
    /// The description of the certificate the client presented, made once per connection
    /// with ``GatewayConfiguration/describeClientCertificate`` and kept to bytes a field
    /// value may hold; `nil` when there is none, or when instances are not told.
    func describedCertificate() -> String? {
        guard let describe = shared.describeClientCertificate, let connection = clientConnection else { return nil }
        if let clientCertificate { return clientCertificate }
        // The handshake is over before a request's bytes arrive: the peer's certificate, if
        // it sent one, is known.
        let certificate = try? connection.pipeline.syncOperations
            .handler(type: NIOSSLServerHandler.self).peerCertificate
        let description = certificate.map { Self.fieldValue(describe($0)) }
        clientCertificate = .some(description)
        return description
    }

    /// `text` without the bytes a field value may not hold (RFC 9110 §5.5): control bytes
    /// but tab, and DEL.
    static func fieldValue(_ text: String) -> String {
        String(decoding: text.utf8.filter { $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }, as: UTF8.self)
    }
}
