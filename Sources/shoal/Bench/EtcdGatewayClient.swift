import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import ShoalEtcd
import SwiftProtobuf

/// etcd's HTTP/JSON gateway (`POST /v3/...`), to measure beside gRPC: the same protobuf
/// messages, as JSON over HTTP/1.1.
final class EtcdGatewayClient: Sendable {
    let base: String
    private let http = HTTPClient(eventLoopGroupProvider: .singleton)

    /// A client of the member at `base` (`http://HOST:PORT`).
    init(base: String) {
        self.base = base
    }

    func shutdown() async throws {
        try await http.shutdown()
    }

    func txn(_ request: Etcdserverpb_TxnRequest) async throws -> Etcdserverpb_TxnResponse {
        try await call("/v3/kv/txn", request)
    }

    /// Puts `value` at `key`; returns the revision of the write.
    func put(_ key: String, _ value: String) async throws -> Int64 {
        var put = Etcdserverpb_PutRequest()
        put.key = Data(key.utf8)
        put.value = Data(value.utf8)
        let response: Etcdserverpb_PutResponse = try await call("/v3/kv/put", put)
        return response.header.revision
    }

    /// Watches every key under `prefix` from `revision`, calling `seen` for each event,
    /// until cancelled. The gateway streams one JSON object a line.
    func watch(prefix: String, from revision: Int64, seen: @escaping @Sendable () -> Void) async throws {
        var create = Etcdserverpb_WatchCreateRequest()
        create.key = Data(prefix.utf8)
        create.rangeEnd = Data(prefixRangeEnd(Array(prefix.utf8)))
        create.startRevision = revision
        var message = Etcdserverpb_WatchRequest()
        message.createRequest = create
        var request = HTTPClientRequest(url: base + "/v3/watch")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: try message.jsonString()))
        let response = try await http.execute(request, timeout: .hours(1))
        guard response.status == .ok else {
            throw RuntimeFailure("etcd's gateway answered \(response.status) to a watch")
        }
        var line: [UInt8] = []
        for try await chunk in response.body {
            for byte in chunk.readableBytesView {
                guard byte == UInt8(ascii: "\n") else {
                    line.append(byte)
                    continue
                }
                let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
                let events = (object?["result"] as? [String: Any])?["events"] as? [Any] ?? []
                for _ in events { seen() }
                line.removeAll(keepingCapacity: true)
            }
        }
        throw RuntimeFailure("etcd's gateway ended the watch")
    }

    private func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ path: String, _ message: Request
    ) async throws -> Response {
        var request = HTTPClientRequest(url: base + path)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: try message.jsonString()))
        let response = try await http.execute(request, timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 16 << 20)
        guard response.status == .ok else {
            throw RuntimeFailure("etcd's gateway answered \(response.status) to \(path): \(String(buffer: body))")
        }
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = true
        return try Response(jsonUTF8Data: Data(buffer: body), options: options)
    }
}
