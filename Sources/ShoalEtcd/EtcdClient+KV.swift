import Foundation
import GRPCCore

extension EtcdClient {
    /// The key's current value (a linearizable read), or `nil` when it does not exist.
    public func get(_ key: String) async throws -> EtcdKeyValue? {
        var request = Etcdserverpb_RangeRequest()
        request.key = Data(key.utf8)
        let response = try await range(request)
        return response.kvs.first.map(EtcdKeyValue.init)
    }

    /// Every key that starts with `prefix`, in key order, and the revision they were read at:
    /// a watch from the next revision misses nothing that came after.
    public func list(prefix: String) async throws -> (keyValues: [EtcdKeyValue], revision: Int64) {
        var request = Etcdserverpb_RangeRequest()
        request.key = Data(prefix.utf8)
        request.rangeEnd = Data(prefixRangeEnd(Array(prefix.utf8)))
        let response = try await range(request)
        return (response.kvs.map(EtcdKeyValue.init), response.header.revision)
    }

    /// Writes `value` at `key`, attached to `lease` if not 0; returns the write's revision.
    ///
    /// A put that fails as unavailable may have been applied.
    @discardableResult
    public func put(_ key: String, _ value: String, lease: Int64 = 0) async throws -> Int64 {
        var request = Etcdserverpb_PutRequest()
        request.key = Data(key.utf8)
        request.value = Data(value.utf8)
        request.lease = lease
        let response = try await call("put \(key)", idempotent: false) { [request] client, metadata, options in
            try await Etcdserverpb_KV.Client(wrapping: client).put(request, metadata: metadata, options: options)
        }
        return response.header.revision
    }

    /// Deletes `key`; returns how many keys were deleted (0 or 1).
    @discardableResult
    public func delete(_ key: String) async throws -> Int64 {
        var request = Etcdserverpb_DeleteRangeRequest()
        request.key = Data(key.utf8)
        // Deleting twice deletes the same: safe to repeat.
        let response = try await call("delete \(key)", idempotent: true) { [request] client, metadata, options in
            try await Etcdserverpb_KV.Client(wrapping: client).deleteRange(
                request, metadata: metadata, options: options)
        }
        return response.deleted
    }

    /// Compacts the history up to `revision`: watches from before it fail with
    /// ``EtcdError/Code-swift.struct/compacted``.
    public func compact(upTo revision: Int64) async throws {
        var request = Etcdserverpb_CompactionRequest()
        request.revision = revision
        _ = try await call("compact", idempotent: true) { [request] client, metadata, options in
            try await Etcdserverpb_KV.Client(wrapping: client).compact(request, metadata: metadata, options: options)
        }
    }

    func range(_ request: Etcdserverpb_RangeRequest) async throws -> Etcdserverpb_RangeResponse {
        try await call("range", idempotent: true) { [request] client, metadata, options in
            try await Etcdserverpb_KV.Client(wrapping: client).range(request, metadata: metadata, options: options)
        }
    }

    /// A transaction. `idempotent`: its comparisons make a second application do nothing
    /// new, so it may be repeated on another member when a try fails.
    package func txn(_ request: Etcdserverpb_TxnRequest, idempotent: Bool) async throws -> Etcdserverpb_TxnResponse {
        try await call("transaction", idempotent: idempotent) { [request] client, metadata, options in
            try await Etcdserverpb_KV.Client(wrapping: client).txn(request, metadata: metadata, options: options)
        }
    }
}
