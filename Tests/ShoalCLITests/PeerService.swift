import GRPCCore

/// Bytes in, bytes out: messages as they are, so that no generated code is needed.
struct PeerBytes: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}

/// `shoal.test.Peer` written with grpc-swift-2: the methods of `Tests/Peers/grpc_peer.py`
/// that its client's checks call (`Unary`, `Fail`, `ServerStream`, `ClientStream`, `Bidi`),
/// answering as `name`.
struct PeerService: RegistrableRPCService {
    static func method(_ name: String) -> MethodDescriptor {
        MethodDescriptor(fullyQualifiedService: "shoal.test.Peer", method: name)
    }
    let name: String

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        let (name, bytes) = (name, PeerBytes())
        router.registerHandler(forMethod: Self.method("Unary"), deserializer: bytes, serializer: bytes) { request, _ in
            var reply = Array("\(name):".utf8)
            for try await message in request.messages { reply += message }
            return StreamingServerResponse(
                single: ServerResponse(message: reply, trailingMetadata: ["peer-name": "\(name)"]))
        }
        router.registerHandler(forMethod: Self.method("Fail"), deserializer: bytes, serializer: bytes) { request, _ in
            var text = ""
            for try await message in request.messages { text += String(decoding: message, as: UTF8.self) }
            let code = Status.Code(rawValue: Int(text) ?? 2).flatMap(RPCError.Code.init) ?? .unknown
            return StreamingServerResponse(error: RPCError(code: code, message: "failed as asked by the test"))
        }
        router.registerHandler(forMethod: Self.method("ServerStream"), deserializer: bytes, serializer: bytes) {
            request, _ in
            var text = ""
            for try await message in request.messages { text += String(decoding: message, as: UTF8.self) }
            let parts = text.split(separator: " ").compactMap { Int($0) }
            let (count, size) = (parts.first ?? 0, parts.last ?? 0)
            return StreamingServerResponse { writer in
                for index in 0..<count { try await writer.write(Array("\(index):".utf8) + Array(repeating: 0x78, count: size)) }
                return [:]
            }
        }
        router.registerHandler(forMethod: Self.method("ClientStream"), deserializer: bytes, serializer: bytes) {
            request, _ in
            var (count, total) = (0, 0)
            for try await message in request.messages {
                count += 1
                total += message.count
            }
            return StreamingServerResponse(single: ServerResponse(message: Array("\(count) \(total)".utf8)))
        }
        router.registerHandler(forMethod: Self.method("Bidi"), deserializer: bytes, serializer: bytes) { request, _ in
            StreamingServerResponse { writer in
                for try await message in request.messages { try await writer.write(message) }
                return [:]
            }
        }
    }
}
