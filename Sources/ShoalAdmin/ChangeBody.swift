import NIOCore
import ShoalCore
import ShoalDiscovery

/// A change as the API shows it: `{"index","removed","service","upserted"}` (keys sorted, as
/// everywhere in the API), plus `"kind": "changes"` in a blocking query's answer.
///
/// Written by hand around each instance's JSON, which ``InstanceJSONCache`` writes once for
/// every watcher it is sent to: with ten watchers, encoding each change's instances ten times
/// with `JSONEncoder` was most of what a registration cost the server.
enum ChangeBody {
    static func json(_ change: ServiceChange, withKind: Bool = false, instances: InstanceJSONCache) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeStaticString(#"{"index":"#)
        JSONText.appendNumber(change.index, to: &buffer)
        if withKind { buffer.writeStaticString(#","kind":"changes""#) }
        buffer.writeStaticString(#","removed":["#)
        for (position, id) in change.removed.enumerated() {
            if position > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            JSONText.appendString(id, to: &buffer)
        }
        buffer.writeStaticString(#"],"service":"#)
        JSONText.appendString(change.service, to: &buffer)
        buffer.writeStaticString(#","upserted":["#)
        for (position, instance) in change.upserted.enumerated() {
            if position > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            buffer.writeImmutableBuffer(instances.json(instance))
        }
        buffer.writeStaticString("]}")
        return buffer
    }
}

/// Instances' JSON, each version of an instance written once however many watchers are sent
/// it: the latest version of up to 8,192 instances, found by service and id (hashing the
/// whole instance, metadata and all, cost more than writing its JSON), and starting afresh
/// when full.
final class InstanceJSONCache: Sendable {
    static let capacity = 8192
    private let entries = BoundedMemo<Key, Entry>(limit: capacity)

    private struct Key: Hashable {
        let service: String
        let id: String
    }

    private struct Entry {
        let instance: ServiceInstance
        let json: ByteBuffer
    }

    func json(_ instance: ServiceInstance) -> ByteBuffer {
        let key = Key(service: instance.service, id: instance.id)
        if let known = entries[key], known.instance == instance { return known.json }
        let buffer = InstanceBody(instance: instance).json
        entries.remember(Entry(instance: instance, json: buffer), for: key)
        return buffer
    }
}

/// A blocking query's answer with `changes=true`: the changes, or the whole service marked
/// `"kind": "snapshot"` when the server no longer knows what changed since the index.
enum EventBody {
    static func json(_ event: ServiceEvent, instances: InstanceJSONCache) -> ByteBuffer {
        switch event {
        case .change(let change): ChangeBody.json(change, withKind: true, instances: instances)
        case .snapshot(let snapshot): SnapshotBody(snapshot: snapshot, withKind: true).json
        }
    }
}
