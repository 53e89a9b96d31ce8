extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    var trimmed: Substring {
        let text = self[...].drop { $0 == " " || $0 == "\t" }
        var end = text.endIndex
        while end > text.startIndex, text[text.index(before: end)] == " " || text[text.index(before: end)] == "\t" {
            end = text.index(before: end)
        }
        return Substring(text[..<end])
    }
}
