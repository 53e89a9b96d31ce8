/// A min-heap of timed events; equal times pop in insertion order, so runs are reproducible.
struct EventQueue<Event> {
    private var heap: [(time: Int64, sequence: Int, event: Event)] = []
    private var sequence = 0

    var isEmpty: Bool { heap.isEmpty }

    mutating func push(_ event: Event, at time: Int64) {
        heap.append((time, sequence, event))
        sequence += 1
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.before(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (time: Int64, event: Event)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && Self.before(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count && Self.before(heap[right], heap[smallest]) { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return (top.time, top.event)
    }

    private static func before(
        _ a: (time: Int64, sequence: Int, event: Event), _ b: (time: Int64, sequence: Int, event: Event)
    ) -> Bool {
        a.time != b.time ? a.time < b.time : a.sequence < b.sequence
    }
}
