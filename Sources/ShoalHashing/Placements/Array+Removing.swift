extension Array {
    /// A copy without the element at `index`.
    func removing(at index: Int) -> [Element] {
        var copy = self
        copy.remove(at: index)
        return copy
    }
}
