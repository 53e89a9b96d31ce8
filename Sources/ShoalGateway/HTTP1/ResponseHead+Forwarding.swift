import NIOCore

/// The response head a proxy sends back.
extension ResponseHead {
    /// Writes the head for the client: HTTP/1.1 with the instance's status and reason, its
    /// field lines as they came but the hop-by-hop ones, the body's framing for the client,
    /// `X-Request-Id` when the instance did not set one, and `Connection: close` or
    /// `keep-alive` as needed.
    ///
    /// - Parameters:
    ///   - clientFraming: how the body goes to the client; `nil` for a response without one
    ///     (its `Content-Length`, as for HEAD, passes through).
    ///   - keepAlive: whether the client connection stays open after the response.
    ///   - clientMinorVersion: the client's HTTP/1 minor version.
    func writeClientHead(
        clientFraming: HTTPBodyDecoder.Framing?, requestID: RequestID, keepAlive: Bool, clientMinorVersion: Int,
        to buffer: inout ByteBuffer
    ) {
        if bytes[0..<9].elementsEqual("HTTP/1.1 ".utf8), bytes[12] == HTTPHeadParser.space {
            // The status line as it came: it ends in CRLF where the reason does.
            buffer.writeBytes(bytes[0..<reason.upperBound + 2])
        } else {
            buffer.writeStaticString("HTTP/1.1 ")
            buffer.writeBytes(bytes[9..<12])
            buffer.writeStaticString(" ")
            buffer.writeBytes(bytes[reason])
            buffer.writeStaticString("\r\n")
        }
        var run = FieldRun()
        for field in fields {
            switch field.kind {
            case .other, .host, .userAgent, .expect, .requestID, .forwardedFor, .forwardedProto, .forwardedHost,
                .forwardedClientCert:
                if !connectionNames.isEmpty && self.field(field, isNamedIn: connectionNames) {
                    run.write(from: bytes, to: &buffer)
                    continue
                }
                run.keep(field)
            case .contentLength, .transferEncoding, .connection, .hopByHop, .upgrade:
                // Content-Length is written below from the parsed value, once; dropped with
                // Transfer-Encoding.
                run.write(from: bytes, to: &buffer)
            }
        }
        run.write(from: bytes, to: &buffer)
        switch clientFraming {
        case .length(let length):
            buffer.writeStaticString("content-length: ")
            buffer.writeString(String(length))
            buffer.writeStaticString("\r\n")
        case .chunked:
            buffer.writeStaticString("transfer-encoding: chunked\r\n")
        case .untilClose:
            break
        case nil:
            if let contentLength {
                buffer.writeStaticString("content-length: ")
                buffer.writeString(String(contentLength))
                buffer.writeStaticString("\r\n")
            }
        }
        if !hasRequestID {
            buffer.writeStaticString("x-request-id: ")
            requestID.write(to: &buffer)
            buffer.writeStaticString("\r\n")
        }
        if !keepAlive {
            buffer.writeStaticString("connection: close\r\n")
        } else if clientMinorVersion == 0 {
            buffer.writeStaticString("connection: keep-alive\r\n")
        }
        buffer.writeStaticString("\r\n")
    }

    /// Writes a `101 Switching Protocols` head for the client: the instance's fields as they
    /// came (`Upgrade`, `Connection: upgrade` and the protocol's own, such as
    /// `Sec-WebSocket-Accept`), without any body framing, and `X-Request-Id`.
    func writeSwitchingHead(requestID: RequestID, to buffer: inout ByteBuffer) {
        buffer.writeStaticString("HTTP/1.1 101 ")
        buffer.writeBytes(bytes[reason])
        buffer.writeStaticString("\r\n")
        for field in fields where field.kind != .contentLength && field.kind != .transferEncoding {
            buffer.writeBytes(bytes[field.name.lowerBound..<field.value.upperBound])
            buffer.writeStaticString("\r\n")
        }
        if !hasRequestID {
            buffer.writeStaticString("x-request-id: ")
            requestID.write(to: &buffer)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
    }
}
