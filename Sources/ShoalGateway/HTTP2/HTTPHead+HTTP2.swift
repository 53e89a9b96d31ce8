import NIOHPACK

extension HTTPHead {
    /// The head's fields that may go in an HTTP/2 header block, their names lowercased (RFC
    /// 9113 §8.2.2): none that describes one HTTP/1.1 connection (`Connection`, the fields it
    /// names, `Keep-Alive`, `Transfer-Encoding`, `Upgrade`, `TE` and the like).
    func appendHTTP2Fields(to headers: inout HPACKHeaders, droppingNames names: [[UInt8]] = []) {
        for field in fields {
            switch field.kind {
            case .connection, .transferEncoding, .upgrade, .hopByHop:
                continue
            default:
                if !names.isEmpty && self.field(field, isNamedIn: names) { continue }
                // A request id is new on every response: kept out of the HPACK table, where
                // each would push out an entry that could have been used again.
                headers.add(
                    name: lowercasedName(of: field), value: string(field.value),
                    indexing: field.kind == .requestID ? .nonIndexable : .indexable)
            }
        }
    }

    /// `field`'s name in lowercase, as HTTP/2 requires (RFC 9113 §8.2.1). Most names come
    /// in lowercase already, and are copied as they are.
    func lowercasedName(of field: HTTPField) -> String {
        let name = bytes[field.name]
        guard name.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else {
            return String(decoding: name, as: UTF8.self)
        }
        return String(decoding: name.map(\.asciiLowercased), as: UTF8.self)
    }
}

extension ResponseHead {
    /// The head as an HTTP/2 response's header block: `:status`, then its fields.
    var http2Headers: HPACKHeaders {
        var headers = HPACKHeaders()
        headers.reserveCapacity(fields.count + 1)
        headers.add(name: ":status", value: String(status))
        appendHTTP2Fields(to: &headers, droppingNames: connectionNames)
        return headers
    }
}

extension ResponseHead {
    /// The head as the response's header block for an HTTP/2 client, as ``http2Headers``,
    /// with `x-request-id` when the instance set none.
    func http2ClientHeaders(requestID: RequestID) -> HPACKHeaders {
        var headers = http2Headers
        if !hasRequestID { headers.add(name: "x-request-id", value: requestID.description, indexing: .nonIndexable) }
        return headers
    }
}

extension HTTPFieldList {
    /// A chunked body's trailer fields as an HTTP/2 trailer block: those the gateway gives
    /// no meaning to, as ``ChunkedEncoding/lastChunk(trailers:allocator:)`` keeps.
    var http2Trailers: HPACKHeaders {
        var headers = HPACKHeaders()
        for field in fields where field.kind == .other {
            headers.add(name: lowercasedName(of: field), value: string(field.value))
        }
        return headers
    }
}
