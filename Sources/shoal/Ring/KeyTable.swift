/// Many keys stored back to back in one buffer, so measuring lookups measures the lookup and
/// not the making of strings.
struct KeyTable {
    private var bytes: [UInt8] = []
    private var ends: [Int] = []

    /// The keys `key:0`, `key:1`, …
    init(count: Int) {
        bytes.reserveCapacity(count * 11)
        ends.reserveCapacity(count)
        for index in 0..<count {
            bytes.append(contentsOf: "key:".utf8)
            bytes.append(contentsOf: String(index).utf8)
            ends.append(bytes.count)
        }
    }

    var count: Int { ends.count }

    /// Calls `body` with each key's index and bytes.
    @inline(__always)
    func forEach(_ body: (Int, UnsafeRawBufferPointer) -> Void) {
        bytes.withUnsafeBytes { all in
            ends.withUnsafeBufferPointer { ends in
                var start = 0
                for index in 0..<ends.count {
                    body(index, UnsafeRawBufferPointer(rebasing: all[start..<ends[index]]))
                    start = ends[index]
                }
            }
        }
    }
}
