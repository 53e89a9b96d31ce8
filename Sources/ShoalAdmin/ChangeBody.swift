import Foundation
import ShoalDiscovery
import Synchronization

/// A change as the API shows it: `{"index","removed","service","upserted"}` (keys sorted, as
/// everywhere in the API), plus `"kind": "changes"` in a blocking query's answer.
///
/// Written by hand around each instance's JSON, which ``InstanceJSONCache`` encodes once for
/// every watcher it is sent to: with ten watchers, encoding each change's instances ten times
/// with `JSONEncoder` was most of what a registration cost the server.
enum ChangeBody {
    static func json(_ change: ServiceChange, withKind: Bool = false, instances: InstanceJSONCache) -> Data {
        var data = Data("{\"index\":\(change.index),".utf8)
        if withKind { data.append(contentsOf: "\"kind\":\"changes\",".utf8) }
        data.append(contentsOf: "\"removed\":[".utf8)
        for (position, id) in change.removed.enumerated() {
            if position > 0 { data.append(UInt8(ascii: ",")) }
            appendString(id, to: &data)
        }
        data.append(contentsOf: "],\"service\":".utf8)
        appendString(change.service, to: &data)
        data.append(contentsOf: ",\"upserted\":[".utf8)
        for (position, instance) in change.upserted.enumerated() {
            if position > 0 { data.append(UInt8(ascii: ",")) }
            data.append(instances.json(instance))
        }
        data.append(contentsOf: "]}".utf8)
        return data
    }

    /// A JSON string: quoted, with quotes, backslashes and control characters escaped.
    static func appendString(_ text: String, to data: inout Data) {
        data.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                data.append(UInt8(ascii: "\\"))
                data.append(byte)
            case 0..<0x20:
                data.append(contentsOf: String(format: "\\u%04x", byte).utf8)
            default:
                data.append(byte)
            }
        }
        data.append(UInt8(ascii: "\""))
    }
}

/// Instances' JSON, each version of an instance encoded once however many watchers are sent
/// it. Holds up to 8,192 instances, and starts afresh when full.
final class InstanceJSONCache: Sendable {
    static let capacity = 8192
    private let entries = Mutex<[ServiceInstance: Data]>([:])

    func json(_ instance: ServiceInstance) -> Data {
        if let known = entries.withLock({ $0[instance] }) { return known }
        let data = JSON.encode(InstanceBody(instance: instance))
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[instance] = data
        }
        return data
    }
}

/// A blocking query's answer with `changes=true`: the changes, or the whole service marked
/// `"kind": "snapshot"` when the server no longer knows what changed since the index.
enum EventBody {
    static func json(_ event: ServiceEvent, instances: InstanceJSONCache) -> Data {
        switch event {
        case .change(let change): ChangeBody.json(change, withKind: true, instances: instances)
        case .snapshot(let snapshot): JSON.encode(SnapshotBody(snapshot: snapshot, withKind: true))
        }
    }
}
