/// A one-line progress bar on standard error, drawn only when standard error is a terminal.
struct ProgressBar {
    private let label: String
    private let total: Int
    private let enabled: Bool
    private var lastPercent = -1

    init(label: String, total: Int, enabled: Bool = StandardError.isTerminal) {
        self.label = label
        self.total = max(total, 1)
        self.enabled = enabled
    }

    /// Redraws when the whole-percent value changes.
    mutating func update(_ done: Int) {
        guard enabled else { return }
        let percent = min(100, done * 100 / total)
        guard percent != lastPercent else { return }
        lastPercent = percent
        let width = 30
        let filled = percent * width / 100
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        StandardError.write("\r\(label.padding(toLength: 22, withPad: " ", startingAt: 0)) [\(bar)] \(percent)%")
    }

    /// Clears the line.
    func finish() {
        guard enabled else { return }
        StandardError.write("\r" + String(repeating: " ", count: 64) + "\r")
    }
}
