/// An index over sorted points by their top bits, so that finding the first point at or after
/// a hash reads one table entry and scans about one point, instead of a binary search whose
/// branches the processor cannot predict.
///
/// `starts[j]` is the position of the first point whose top `bits` bits are ≥ `j`; the table
/// has one entry per point, rounded up to a power of two (at most 2²⁴), plus one.
struct PrefixIndex<Point: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable {
    private let starts: [UInt32]
    private let shift: Int

    /// The number of top bits that pick a bucket: one bucket per point, rounded up to a power of
    /// two, between 2 and 2²⁴ buckets.
    static func bits(forPointCount count: Int) -> Int {
        var bits = 1
        while bits < 24 && (1 << bits) < count {
            bits += 1
        }
        return bits
    }

    init(points: [Point]) {
        let bits = Self.bits(forPointCount: points.count)
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

    private init(starts: [UInt32], shift: Int) {
        self.starts = starts
        self.shift = shift
    }

    /// Builds the index while points are placed by bucket: count every point, ``accumulate()``,
    /// ``claim(_:)`` a position for every point (in the same multiset), then ``finish()``.
    struct Builder {
        /// Counts per bucket, then each bucket's next free position, then the index itself.
        private var starts: [UInt32]
        private let shift: Int

        init(pointCount: Int) {
            let bits = PrefixIndex.bits(forPointCount: pointCount)
            starts = [UInt32](repeating: 0, count: (1 << bits) + 1)
            shift = Point.bitWidth - bits
        }

        @inline(__always)
        private func bucket(_ point: Point) -> Int {
            Int(truncatingIfNeeded: point &>> shift)
        }

        @inline(__always)
        mutating func count(_ point: Point) {
            starts[bucket(point)] &+= 1
        }

        /// Turns counts into each bucket's first position.
        mutating func accumulate() {
            var position: UInt32 = 0
            for bucket in starts.indices {
                let count = starts[bucket]
                starts[bucket] = position
                position &+= count
            }
        }

        /// The next free position in `point`'s bucket.
        @inline(__always)
        mutating func claim(_ point: Point) -> Int {
            let bucket = bucket(point)
            let position = starts[bucket]
            starts[bucket] = position &+ 1
            return Int(position)
        }

        /// Calls `body(start, end)` for each bucket's positions, once every point is claimed.
        func forEachBucket(_ body: (Int, Int) -> Void) {
            // After claiming, starts[b] is where bucket b ends, which is where b + 1 starts.
            var start = 0
            for bucket in 0..<(starts.count - 1) {
                let end = Int(starts[bucket])
                body(start, end)
                start = end
            }
        }

        /// The finished index: each bucket's end moves up one place to become the next one's start.
        consuming func finish() -> PrefixIndex {
            var starts = self.starts
            for bucket in stride(from: starts.count - 1, to: 0, by: -1) {
                starts[bucket] = starts[bucket - 1]
            }
            starts[0] = 0
            return PrefixIndex(starts: starts, shift: shift)
        }
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
