import Crypto
import NIOSSL
import X509

/// The `X-Forwarded-Client-Cert` value `shoal serve` sends instances for a client's verified
/// certificate, in the element syntax Envoy uses (so services behind either read it the same
/// way): `Hash=` the SHA-256 of its DER bytes in hex, `Subject="…"` its distinguished name,
/// then a `URI="…"` and a `DNS=` for each such subjectAlternativeName.
enum ClientCertificateField {
    static func describe(_ certificate: NIOSSLCertificate) -> String {
        guard let der = try? certificate.toDERBytes() else { return "" }
        let digits = Array("0123456789abcdef")
        let hash = SHA256.hash(data: der).flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] }
        var parts = ["Hash=" + String(hash)]
        guard let parsed = try? Certificate(derEncoded: der) else { return parts[0] }
        parts.append("Subject=" + quoted(String(describing: parsed.subject)))
        for name in (try? parsed.extensions.subjectAlternativeNames).flatMap({ $0 }).map(Array.init) ?? [] {
            switch name {
            case .uniformResourceIdentifier(let uri): parts.append("URI=" + quoted(uri))
            case .dnsName(let dns): parts.append("DNS=" + dns)
            default: break
            }
        }
        return parts.joined(separator: ";")
    }

    /// `text` in double quotes, with `"` and `\` escaped.
    private static func quoted(_ text: String) -> String {
        "\"" + text.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\""
    }
}
