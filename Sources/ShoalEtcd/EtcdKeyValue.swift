/// A key as etcd stores it, with the revisions that say when it was made and changed.
public struct EtcdKeyValue: Sendable, Hashable {
    /// The key's bytes.
    public let key: [UInt8]
    /// The value's bytes (empty for a deletion's event).
    public let value: [UInt8]
    /// The revision of the write that made the key (since it last did not exist).
    public let createRevision: Int64
    /// The revision of the key's last write.
    public let modRevision: Int64
    /// How many times the key was written since it was made.
    public let version: Int64
    /// The lease the key is attached to (0: none); the key is deleted when the lease ends.
    public let lease: Int64

    /// A key as etcd reports it.
    public init(
        key: [UInt8], value: [UInt8], createRevision: Int64, modRevision: Int64, version: Int64, lease: Int64
    ) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.lease = lease
    }

    init(_ stored: Etcdserverpb_KeyValue) {
        self.init(
            key: Array(stored.key), value: Array(stored.value), createRevision: stored.createRevision,
            modRevision: stored.modRevision, version: stored.version, lease: stored.lease)
    }

    /// The key as UTF-8 text.
    public var keyString: String { String(decoding: key, as: UTF8.self) }
    /// The value as UTF-8 text.
    public var stringValue: String { String(decoding: value, as: UTF8.self) }
}

/// A change a watch saw.
public struct EtcdEvent: Sendable, Hashable {
    /// What the change was.
    public enum Kind: Sendable, Hashable {
        /// The key was written (made or changed).
        case put
        /// The key was deleted, or its lease ended.
        case delete
    }

    /// What the change was.
    public let kind: Kind
    /// The key after the change; for a delete, only its key and the delete's revision
    /// (``EtcdKeyValue/modRevision``).
    public let keyValue: EtcdKeyValue

    /// A change of `kind` to `keyValue`.
    public init(kind: Kind, keyValue: EtcdKeyValue) {
        self.kind = kind
        self.keyValue = keyValue
    }
}

/// The end of a key range that holds every key that starts with `prefix`: the prefix with
/// its last byte below 0xff raised by one (etcd's convention; `[0]` for an empty prefix,
/// meaning every key).
package func prefixRangeEnd(_ prefix: [UInt8]) -> [UInt8] {
    var end = prefix
    while let last = end.last {
        if last < 0xff {
            end[end.count - 1] = last + 1
            return end
        }
        end.removeLast()
    }
    return [0]
}
