/// One header field of a parsed head: where its name and value are in the head's bytes,
/// and which of the fields a proxy cares about it is.
struct HTTPField {
    /// The name's bytes.
    let name: Range<Int>
    /// The value's bytes, without the whitespace around it.
    let value: Range<Int>
    let kind: Kind

    /// The fields the gateway reads or rewrites; everything else is `other` and passes
    /// through as it came.
    enum Kind: UInt8 {
        case other
        case host
        case contentLength
        case transferEncoding
        case connection
        case expect
        case requestID
        case forwardedFor
        case forwardedProto
        case forwardedHost
        /// Forwarded as it came; the access log reads it.
        case userAgent
        /// `Upgrade`: hop-by-hop, but forwarded on a request that asks to switch protocols.
        case upgrade
        /// `X-Forwarded-Client-Cert`: dropped from requests that came over TLS (the gateway
        /// sets its own, ``GatewayConfiguration/describeClientCertificate``), else passed on.
        case forwardedClientCert
        /// Describes one connection, never forwarded (RFC 9110 §7.6.1).
        case hopByHop
    }

    /// The kind of the field named by `bytes[range]`, compared without case.
    static func kind(of range: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>) -> Kind {
        func named(_ name: StaticString) -> Bool {
            guard name.utf8CodeUnitCount == range.count else { return false }
            let expected = name.utf8Start
            var offset = 0
            for index in range {
                // ASCII letters only differ from their capital by bit 5; names are tokens,
                // and the expected ones are lowercase letters and '-', so setting the bit
                // compares without case.
                guard bytes[index] | 0x20 == expected[offset] else { return false }
                offset += 1
            }
            return true
        }
        switch range.count {
        case 2: return named("te") ? .hopByHop : .other
        case 4: return named("host") ? .host : .other
        case 6: return named("expect") ? .expect : .other
        // `Trailer` (which fields the trailer section holds) is end to end, not hop-by-hop
        // (RFC 9110 §6.6.2): it goes on with the trailers it announces.
        case 7: return named("upgrade") ? .upgrade : .other
        case 10:
            if named("connection") { return .connection }
            if named("user-agent") { return .userAgent }
            return named("keep-alive") ? .hopByHop : .other
        case 12: return named("x-request-id") ? .requestID : .other
        case 14: return named("content-length") ? .contentLength : .other
        case 15: return named("x-forwarded-for") ? .forwardedFor : .other
        case 16:
            if named("x-forwarded-host") { return .forwardedHost }
            return named("proxy-connection") ? .hopByHop : .other
        case 17:
            if named("transfer-encoding") { return .transferEncoding }
            return named("x-forwarded-proto") ? .forwardedProto : .other
        case 18: return named("proxy-authenticate") ? .hopByHop : .other
        case 19: return named("proxy-authorization") ? .hopByHop : .other
        case 23: return named("x-forwarded-client-cert") ? .forwardedClientCert : .other
        default: return .other
        }
    }
}
