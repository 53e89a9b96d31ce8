import NIOCore
import ShoalDiscovery

extension SnapshotBody {
    /// The snapshot's JSON, written by hand: byte for byte what `JSON.encode(self)` writes,
    /// in a fifth of the time. A snapshot of 10,000 instances took `JSONEncoder` about 50 ms.
    var json: ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(96 + snapshot.instances.count * 224)
        buffer.writeStaticString(#"{"index":"#)
        JSONText.appendNumber(snapshot.index, to: &buffer)
        buffer.writeStaticString(#","instances":["#)
        for (position, instance) in snapshot.instances.enumerated() {
            if position > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            InstanceBody(instance: instance).append(to: &buffer)
        }
        buffer.writeStaticString(#"],"#)
        if withKind { buffer.writeStaticString(#""kind":"snapshot","#) }
        buffer.writeStaticString(#""service":"#)
        JSONText.appendString(snapshot.service, to: &buffer)
        buffer.writeStaticString(#","stale":"#)
        buffer.writeStaticString(snapshot.isStale ? "true" : "false")
        buffer.writeInteger(UInt8(ascii: "}"))
        return buffer
    }
}
