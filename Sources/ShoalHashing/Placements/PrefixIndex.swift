/// An index over sorted points by their top bits, so that finding the first point at or after
/// a hash reads one table entry and scans about one point, instead of a binary search whose
/// branches the processor cannot predict.
///
/// `starts[j]` is the position of the first point whose top `bits` bits are ≥ `j`; the table
/// has one entry per point, rounded up to a power of two (at most 2²⁴), plus one.
struct PrefixIndex<Point: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable {
    private let starts: [UInt32]
    private let shift: Int

    init(points: [Point]) {
        var bits = 1
        while bits < 24 && (1 << bits) < points.count {
            bits += 1
        }
        let bucketCount = 1 << bits
        let shift = Point.bitWidth - bits
        var starts = [UInt32](repeating: 0, count: bucketCount + 1)
        var position = 0
        for bucket in 0...bucketCount {
            while position < points.count && Int(points[position] >> shift) < bucket {
                position += 1
            }
            starts[bucket] = UInt32(position)
        }
        self.starts = starts
        self.shift = shift
    }

    /// The position of the first point ≥ `hash`, wrapping to 0 past the last point.
    @inline(__always)
    func position(atOrAfter hash: Point, in points: [Point]) -> Int {
        starts.withUnsafeBufferPointer { starts in
            points.withUnsafeBufferPointer { points in
                let bucket = Int(truncatingIfNeeded: hash &>> shift)
                var position = Int(starts[bucket])
                let end = Int(starts[bucket &+ 1])
                while position < end && points[position] < hash {
                    position &+= 1
                }
                return position == points.count ? 0 : position
            }
        }
    }
}
