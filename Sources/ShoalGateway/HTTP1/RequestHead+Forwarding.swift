import NIOCore

/// The request head a proxy sends on (RFC 9110 §7.6 and the X-Forwarded-* conventions).
extension RequestHead {
    /// Writes the head for the instance: HTTP/1.1, the target rewritten for the route, the
    /// client's field lines as they came but the hop-by-hop ones and those the gateway sets,
    /// then `X-Forwarded-For` (the client's address appended), `X-Forwarded-Proto`,
    /// `X-Forwarded-Host`, `X-Request-Id` and any trace context. A request that asks to
    /// switch protocols keeps its `Upgrade` field, with `Connection: upgrade`.
    ///
    /// - Parameters:
    ///   - target: the target after prefix stripping.
    ///   - hostIfMissing: the `Host` for a request that came without one (HTTP/1.0), which
    ///     HTTP/1.1 requires: the route's service, as nginx sends its upstream's name.
    ///   - authority: the authority of an absolute-form target, which stands for the client's
    ///     `Host` (RFC 9112 §3.2.2): sent as `Host` and `X-Forwarded-Host` in its place.
    ///   - traceFields: fields a tracer injected (lowercase names); they replace the client's
    ///     fields of the same names.
    ///   - secure: whether the client came over TLS (`X-Forwarded-Proto: https`).
    ///   - clientCertificate: with `replacesClientCertificate`, the `X-Forwarded-Client-Cert`
    ///     value the gateway sets (none when `nil`), in place of any the client sent.
    func writeUpstreamHead(
        target: String, hostIfMissing: String, authority: String? = nil, clientIP: String?, requestID: RequestID,
        traceFields: [(String, String)], secure: Bool = false, clientCertificate: String? = nil, replacesClientCertificate: Bool = false,
        to buffer: inout ByteBuffer
    ) {
        // The request line as it came, when only the version could change and it is 1.1.
        let versionStart = self.target.upperBound + 1
        if bytes[versionStart..<versionStart + 8].elementsEqual("HTTP/1.1".utf8),
            target.utf8.elementsEqual(bytes[self.target])
        {
            buffer.writeBytes(bytes[0..<versionStart + 10])
        } else {
            buffer.writeBytes(bytes[method])
            buffer.writeStaticString(" ")
            buffer.writeString(target)
            buffer.writeStaticString(" HTTP/1.1\r\n")
        }
        if let authority {
            buffer.writeStaticString("host: ")
            buffer.writeString(authority)
            buffer.writeStaticString("\r\n")
        } else if !fields.contains(where: { $0.kind == .host }) {
            buffer.writeStaticString("host: ")
            buffer.writeString(hostIfMissing)
            buffer.writeStaticString("\r\n")
        }
        var forwardedFor: [Range<Int>] = []
        let traceNames = traceFields.map { Array($0.0.utf8) }
        var run = FieldRun()
        for field in fields {
            switch field.kind {
            case .host where authority != nil:
                run.write(from: bytes, to: &buffer)
            case .host:
                // End to end, and required in HTTP/1.1: a `Connection` option that names it
                // does not remove it (else the instance gets a request it must refuse).
                run.keep(field)
            case .other, .userAgent, .forwardedClientCert:
                // A client must not vouch for its own certificate where the gateway does.
                if field.kind == .forwardedClientCert && replacesClientCertificate
                    || !connectionNames.isEmpty && self.field(field, isNamedIn: connectionNames)
                    || !traceNames.isEmpty && self.field(field, isNamedIn: traceNames)
                {
                    run.write(from: bytes, to: &buffer)
                    continue
                }
                run.keep(field)
            case .upgrade where isUpgrade:
                // Kept only when the request asks to switch protocols; `Connection` says so below.
                run.keep(field)
            case .forwardedFor:
                run.write(from: bytes, to: &buffer)
                forwardedFor.append(field.value)
            case .upgrade, .contentLength, .transferEncoding, .connection, .expect, .requestID, .forwardedProto,
                .forwardedHost, .hopByHop:
                run.write(from: bytes, to: &buffer)
            }
        }
        run.write(from: bytes, to: &buffer)
        if chunked {
            buffer.writeStaticString("transfer-encoding: chunked\r\n")
        } else if let contentLength {
            buffer.writeStaticString("content-length: ")
            buffer.writeString(String(contentLength))
            buffer.writeStaticString("\r\n")
        }
        if let clientIP {
            buffer.writeStaticString("x-forwarded-for: ")
            for previous in forwardedFor where !previous.isEmpty {
                buffer.writeBytes(bytes[previous])
                buffer.writeStaticString(", ")
            }
            buffer.writeString(clientIP)
            buffer.writeStaticString("\r\n")
        } else {
            for previous in forwardedFor {
                buffer.writeStaticString("x-forwarded-for: ")
                buffer.writeBytes(bytes[previous])
                buffer.writeStaticString("\r\n")
            }
        }
        if let clientCertificate {
            buffer.writeStaticString("x-forwarded-client-cert: ")
            buffer.writeString(clientCertificate)
            buffer.writeStaticString("\r\n")
        }
        if isUpgrade { buffer.writeStaticString("connection: upgrade\r\n") }
        buffer.writeStaticString(secure ? "x-forwarded-proto: https\r\n" : "x-forwarded-proto: http\r\n")
        if let authority {
            buffer.writeStaticString("x-forwarded-host: ")
            buffer.writeString(authority)
            buffer.writeStaticString("\r\nx-request-id: ")
        } else if let host = fields.first(where: { $0.kind == .host }) {
            buffer.writeStaticString("x-forwarded-host: ")
            buffer.writeBytes(bytes[host.value])
            buffer.writeStaticString("\r\nx-request-id: ")
        } else {
            buffer.writeStaticString("x-request-id: ")
        }
        requestID.write(to: &buffer)
        guard !traceFields.isEmpty else {
            buffer.writeStaticString("\r\n\r\n")
            return
        }
        buffer.writeStaticString("\r\n")
        for (name, value) in traceFields {
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
    }
}
