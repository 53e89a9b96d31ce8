extension HTTPHead {
    /// Whether the message is a gRPC call or answer: its `Content-Type` is
    /// `application/grpc`, alone or with a `+format` suffix.
    var isGRPC: Bool {
        guard let type = value(named: "content-type")?.lowercased() else { return false }
        return type == "application/grpc" || type.hasPrefix("application/grpc+")
            || type.hasPrefix("application/grpc;")
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
