import Foundation

/// Builders for the parts of etcd requests that the lock and the registry put together.
package enum EtcdRequests {
    /// A comparison that holds when `key`'s create revision is `revision` (0: it does not exist).
    package static func createRevision(of key: Data, is revision: Int64) -> Etcdserverpb_Compare {
        var compare = Etcdserverpb_Compare()
        compare.key = key
        compare.target = .create
        compare.result = .equal
        compare.createRevision = revision
        return compare
    }

    /// A comparison that holds when `key`'s last write was at `revision`: nothing wrote it since.
    package static func modRevision(of key: Data, is revision: Int64) -> Etcdserverpb_Compare {
        var compare = Etcdserverpb_Compare()
        compare.key = key
        compare.target = .mod
        compare.result = .equal
        compare.modRevision = revision
        return compare
    }

    package static func put(_ key: Data, _ value: Data, lease: Int64 = 0) -> Etcdserverpb_RequestOp {
        var put = Etcdserverpb_PutRequest()
        put.key = key
        put.value = value
        put.lease = lease
        var op = Etcdserverpb_RequestOp()
        op.requestPut = put
        return op
    }

    package static func get(_ key: Data) -> Etcdserverpb_RequestOp {
        var range = Etcdserverpb_RangeRequest()
        range.key = key
        var op = Etcdserverpb_RequestOp()
        op.requestRange = range
        return op
    }

    package static func delete(_ key: Data) -> Etcdserverpb_RequestOp {
        var delete = Etcdserverpb_DeleteRangeRequest()
        delete.key = key
        var op = Etcdserverpb_RequestOp()
        op.requestDeleteRange = delete
        return op
    }

    /// A read of every key under `prefix`.
    package static func range(under prefix: Data) -> Etcdserverpb_RangeRequest {
        var range = Etcdserverpb_RangeRequest()
        range.key = prefix
        range.rangeEnd = Data(prefixRangeEnd(Array(prefix)))
        return range
    }

    /// A lock's join: makes `key` on `lease` unless it exists (then reads it), and reads the
    /// key under `folder` with the lowest create revision, the owner's.
    package static func joinLine(_ key: Data, lease: Int64, folder: Data) -> Etcdserverpb_TxnRequest {
        let first = first(under: folder)
        var request = Etcdserverpb_TxnRequest()
        request.compare = [createRevision(of: key, is: 0)]
        request.success = [put(key, Data(), lease: lease), first]
        request.failure = [get(key), first]
        return request
    }

    /// A lock's release: deletes `key` only as it was made, at `revision`, never a later
    /// holding's key of the same name.
    package static func release(_ key: Data, madeAt revision: Int64) -> Etcdserverpb_TxnRequest {
        var request = Etcdserverpb_TxnRequest()
        request.compare = [createRevision(of: key, is: revision)]
        request.success = [delete(key)]
        return request
    }

    /// A read of the key under `prefix` with the lowest create revision.
    package static func first(under prefix: Data) -> Etcdserverpb_RequestOp {
        var range = range(under: prefix)
        range.sortTarget = .create
        range.sortOrder = .ascend
        range.limit = 1
        var op = Etcdserverpb_RequestOp()
        op.requestRange = range
        return op
    }
}
