import ShoalGateway

#if canImport(Glibc)
    import Glibc
#endif

/// What `shoal demo` prints: a view redrawn each second on a terminal, or one plain line a
/// second otherwise; then a summary.
final class DemoView {
    private let interactive: Bool
    private let names: [String]
    private var header = ""
    private var events: [(second: Int, text: String)] = []
    private var windows: [DemoStats.Window] = []
    private var second = 0

    init(interactive: Bool, names: [String]) {
        self.interactive = interactive
        self.names = names
    }

    func start(port: Int, dashboard: Int, clients: Int, duration: Duration, strategy: String) {
        header =
            "shoal demo: gateway on http://127.0.0.1:\(port), \(names.count) instances of \"demo\" "
            + "(\(strategy)), \(clients) clients, \(Int(duration.seconds)) s\n"
            + "dashboard: http://127.0.0.1:\(dashboard)/dashboard (open it while the demo runs)"
        if !interactive { printed(header) }
    }

    func event(_ text: String) {
        events.append((second, text))
        if !interactive { printed("t=\(second)s event: \(text)") }
    }

    func second(_ second: Int, _ window: DemoStats.Window) {
        self.second = second
        windows.append(window)
        let served = window.byInstance.values.reduce(0, +)
        let shares = names.map { name in
            (name, served == 0 ? 0 : Double(window.byInstance[name] ?? 0) / Double(served))
        }
        let rate = window.latencies.count
        let sorted = window.latencies.sorted()
        let p50 = nearestRankQuantile(sorted, 0.5)
        let p99 = nearestRankQuantile(sorted, 0.99)
        if !interactive {
            let shareText = shares.map { "\($0.0) \(percent($0.1))" }.joined(separator: " ")
            printed(
                "t=\(second)s \(rate) req/s p50=\(format(p50))ms p99=\(format(p99))ms errors=\(window.errors) share: \(shareText)"
            )
            return
        }
        var screen = "\u{1B}[H\u{1B}[2J" + header + "\n\n"
        screen += "  t=\(pad(String(second), 3))s   \(pad(String(rate), 6)) req/s   p50 \(format(p50)) ms   "
        screen += "p99 \(format(p99)) ms   errors \(window.errors)\n\n"
        for (name, share) in shares {
            let bar = String(repeating: "█", count: Int((share * 40).rounded()))
            screen += "  \(name)  \(pad(percent(share), 4))  \(bar)\n"
        }
        if !events.isEmpty {
            screen += "\n"
            for event in events { screen += "  t=\(event.second)s  \(event.text)\n" }
        }
        printed(screen, terminator: "")
    }

    func summary(_ totals: DemoStats.Totals, story: DemoStory, counters: GatewayCounters) {
        let served = totals.latencies.values.reduce(0) { $0 + $1.count }
        let failures = totals.failures.sorted { $0.key < $1.key }
            .map { "\($0.value) × \($0.key == 0 ? "connection closed" : String($0.key))" }.joined(separator: ", ")
        print(
            "\nsummary: \(totals.requests) requests, \(totals.errors) failed as the clients saw them"
                + (failures.isEmpty ? "" : " (\(failures))"))
        print("  instance  requests  share   p50 ms   p99 ms")
        for name in names {
            let latencies = (totals.latencies[name] ?? []).sorted()
            let share = served == 0 ? 0 : Double(latencies.count) / Double(served)
            print(
                "  \(name)   \(pad(String(latencies.count), 8))  \(pad(percent(share), 5))  "
                    + "\(pad(format(nearestRankQuantile(latencies, 0.5)), 7))  \(pad(format(nearestRankQuantile(latencies, 0.99)), 7))"
            )
        }
        let retries = counters.retries.load(ordering: .relaxed)
        print("  the gateway retried \(retries) requests on another instance (connection failures and 503s)")
        for event in events { print("  t=\(event.second)s \(event.text)") }
        let killedAt = Int(story.killAt.seconds)
        let failedAfterKill = windows.dropFirst(killedAt).reduce(0) { $0 + $1.errors }
        print("  requests that failed after the kill: \(failedAfterKill)")
        let slowed = names[DemoInstances.slowed]
        let slowAt = Int(story.slowAt.seconds)
        print(
            "  \(slowed)'s share: \(percent(share(of: slowed, in: windows.prefix(slowAt)))) before it slowed, "
                + "\(percent(share(of: slowed, in: windows.dropFirst(slowAt + 2)))) after (from 2 s later)")
    }

    private func share(of name: String, in windows: some Collection<DemoStats.Window>) -> Double {
        let served = windows.reduce(0) { $0 + $1.byInstance.values.reduce(0, +) }
        let mine = windows.reduce(0) { $0 + ($1.byInstance[name] ?? 0) }
        return served == 0 ? 0 : Double(mine) / Double(served)
    }

    /// Prints and sends it at once: into a pipe or a file, standard output would otherwise
    /// hold a line a second until the end.
    private func printed(_ text: String, terminator: String = "\n") {
        print(text, terminator: terminator)
        fflush(nil)
    }

    private func percent(_ share: Double) -> String { "\(Int((share * 100).rounded()))%" }

    private func format(_ milliseconds: Double) -> String {
        let tenths = Int((milliseconds * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    private func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
