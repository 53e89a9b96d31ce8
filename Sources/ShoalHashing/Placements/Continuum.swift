/// Points on a hash ring, sorted, each owned by a node: the structure behind ketama and ring64.
///
/// Points and owners live in two parallel arrays so a search touches only the points, and a
/// ``PrefixIndex`` narrows the search to about one point. Equal points are ordered by owner,
/// so ties go to the node with the lower index.
struct Continuum<Point: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable {
    /// Ascending.
    let points: [Point]
    /// `owners[i]` is the index of the node that owns `points[i]`.
    let owners: [UInt32]
    private let index: PrefixIndex<Point>

    /// Builds the continuum from each node's points (in any order).
    init(nodePoints: [[Point]]) {
        self.init(pointCounts: nodePoints.map(\.count)) { node, visit in
            for point in nodePoints[node] { visit(point) }
        }
    }

    /// Builds the continuum from points that `forEachPoint(node, visit)` produces for each
    /// node, `pointCounts[node]` of them, in any order; it is called twice per node.
    ///
    /// A counting sort on the prefix index's buckets: the first pass counts the points in each
    /// bucket (which gives the index), the second writes each point into its bucket, and each
    /// bucket, about one point, is then sorted in place. Nothing but the finished arrays is
    /// allocated, where sorting (point, owner) pairs held three times the points' memory.
    init(pointCounts: [Int], forEachPoint: (_ node: Int, _ visit: (Point) -> Void) -> Void) {
        let total = pointCounts.reduce(0, +)
        var index = PrefixIndex<Point>.Builder(pointCount: total)
        for node in pointCounts.indices {
            forEachPoint(node) { index.count($0) }
        }
        index.accumulate()
        var points = [Point](repeating: 0, count: total)
        var owners = [UInt32](repeating: 0, count: total)
        points.withUnsafeMutableBufferPointer { points in
            owners.withUnsafeMutableBufferPointer { owners in
                for node in pointCounts.indices {
                    let owner = UInt32(node)
                    forEachPoint(node) { point in
                        let position = index.claim(point)
                        points[position] = point
                        owners[position] = owner
                    }
                }
                index.forEachBucket { start, end in
                    Self.sortBucket(points: points, owners: owners, start, end)
                }
            }
        }
        self.owners = owners
        self.points = points
        self.index = index.finish()
    }

    /// Insertion sort of one bucket by point. It is stable, and points were written in node
    /// order, so equal points stay ordered by owner.
    private static func sortBucket(
        points: UnsafeMutableBufferPointer<Point>, owners: UnsafeMutableBufferPointer<UInt32>, _ start: Int, _ end: Int
    ) {
        guard end - start > 1 else { return }
        for i in (start + 1)..<end {
            let point = points[i]
            let owner = owners[i]
            var j = i
            while j > start && points[j - 1] > point {
                points[j] = points[j - 1]
                owners[j] = owners[j - 1]
                j -= 1
            }
            points[j] = point
            owners[j] = owner
        }
    }

    private init(points: [Point], owners: [UInt32]) {
        self.points = points
        self.owners = owners
        self.index = PrefixIndex(points: points)
    }

    var isEmpty: Bool { points.isEmpty }

    /// The position of the first point ≥ `hash`, wrapping to 0 past the last point.
    @inline(__always)
    func position(atOrAfter hash: Point) -> Int {
        index.position(atOrAfter: hash, in: points)
    }

    /// The owner of the first point ≥ `hash`.
    @inline(__always)
    func owner(atOrAfter hash: Point) -> Int {
        Int(owners[position(atOrAfter: hash)])
    }

    /// Calls `visit` with the owner of each point from `hash` clockwise, wrapping, until it
    /// returns `false` or every point has been visited once.
    func walk(fromHash hash: Point, _ visit: (Int) -> Bool) {
        guard !points.isEmpty else { return }
        var position = position(atOrAfter: hash)
        for _ in 0..<points.count {
            if !visit(Int(owners[position])) { return }
            position = position + 1 == points.count ? 0 : position + 1
        }
    }

    /// Walks the ring clockwise from `start` and collects the first `count` distinct owners.
    /// Nodes that own no point at all are appended in index order at the end, so the result
    /// always has `min(count, nodeCount)` entries.
    func distinctOwners(from start: Int, count: Int, nodeCount: Int) -> [Int] {
        var replicas = DistinctNodes(wanted: count, nodeCount: nodeCount)
        var position = start
        var steps = 0
        while !replicas.isFull, steps < points.count {
            replicas.offer(Int(owners[position]))
            position = position + 1 == points.count ? 0 : position + 1
            steps += 1
        }
        return replicas.filled()
    }

    /// A continuum with `newPoints` (sorted) added for the new node `node`, by a linear merge.
    func merging(_ newPoints: [Point], node: Int) -> Continuum {
        var points: [Point] = []
        var owners: [UInt32] = []
        points.reserveCapacity(self.points.count + newPoints.count)
        owners.reserveCapacity(self.points.count + newPoints.count)
        var i = 0
        var j = 0
        let newOwner = UInt32(node)
        while i < self.points.count || j < newPoints.count {
            let takeOld: Bool
            if j == newPoints.count {
                takeOld = true
            } else if i == self.points.count {
                takeOld = false
            } else {
                let old = self.points[i]
                let new = newPoints[j]
                takeOld = old < new || (old == new && self.owners[i] < newOwner)
            }
            if takeOld {
                points.append(self.points[i])
                owners.append(self.owners[i])
                i += 1
            } else {
                points.append(newPoints[j])
                owners.append(newOwner)
                j += 1
            }
        }
        return Continuum(points: points, owners: owners)
    }

    /// A continuum without `node`'s points; owners above it shift down by one.
    func removing(node: Int) -> Continuum {
        let removed = UInt32(node)
        var points: [Point] = []
        var owners: [UInt32] = []
        points.reserveCapacity(self.points.count)
        owners.reserveCapacity(self.points.count)
        for (point, owner) in zip(self.points, self.owners) where owner != removed {
            points.append(point)
            owners.append(owner > removed ? owner - 1 : owner)
        }
        return Continuum(points: points, owners: owners)
    }
}
