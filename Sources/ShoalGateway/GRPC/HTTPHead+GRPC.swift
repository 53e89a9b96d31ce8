/// The name and media type ``HTTPHead/isGRPC`` looks for, made once: asked of every request,
/// it compares bytes and allocates nothing.
private let contentTypeName = [Array("content-type".utf8)]
private let grpcMediaType = Array("application/grpc".utf8)

extension HTTPHead {
    /// Whether the message is a gRPC call or answer: its `Content-Type` is
    /// `application/grpc`, alone or with a `+format` suffix or parameters.
    var isGRPC: Bool {
        guard let field = fields.first(where: { self.field($0, isNamedIn: contentTypeName) }) else { return false }
        let value = bytes[field.value]
        guard value.count >= grpcMediaType.count,
            zip(value, grpcMediaType).allSatisfy({ $0.asciiLowercased == $1 })
        else { return false }
        let rest = value.dropFirst(grpcMediaType.count)
        return rest.first.map { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: ";") } ?? true
    }

    /// Whether the request says it accepts trailers (`TE: trailers`).
    var acceptsTrailers: Bool {
        value(named: "te")?.lowercased().contains("trailers") == true
    }

    /// The `grpc-status` field's code, if it has one.
    var grpcStatus: Int? {
        value(named: "grpc-status").flatMap { Int($0) }
    }
}
