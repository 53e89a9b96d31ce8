import Foundation

extension BenchBalanceCommand {
    static func tables(_ results: [(Scenario, [StrategyResult])], settings: SimulationSettings) -> String {
        let load =
            if let connections = settings.connections {
                "closed loop: \(connections) connections"
                    + (settings.overhead > 0 ? ", \(format(settings.overhead * 1e3, 2)) ms outside the backend" : "")
                    + (settings.wrkCorrection ? ", percentiles corrected as wrk's" : "")
            } else {
                "\(Int(settings.rate)) requests/s"
            }
        var text = """
            \(load) for \(format(settings.duration, 0)) s (virtual), \
            per-try timeout \(format(settings.perTryTimeout, 1)) s, up to \(settings.maxTries) tries, seed \(settings.seed)

            """
        let closedLoop = settings.connections != nil
        let digits = results.contains { $0.0.backends.contains { $0.median < 0.05 } } ? 2 : 1
        for (scenario, rows) in results {
            text += "\n\(scenario.name): \(scenario.summary)\n"
            text +=
                "strategy              p50 ms    p99 ms  p99.9 ms   success  retries"
                + (closedLoop ? "      req/s" : "") + "  share of tries per backend (%)\n"
            for row in rows {
                let shares = row.shares.map { format($0 * 100, 1) }.joined(separator: " ")
                text +=
                    row.name.padding(toLength: 20, withPad: " ", startingAt: 0)
                    + pad(format(row.p50, digits), 8) + pad(format(row.p99, digits), 10)
                    + pad(format(row.p999, digits), 10)
                    + pad(format(row.successRate * 100, 3) + "%", 10) + pad(String(row.retries), 9)
                    + (closedLoop ? pad(format(row.throughput, 0), 11) : "") + "  " + shares + "\n"
            }
        }
        return text
    }

    static func json(_ results: [(Scenario, [StrategyResult])]) -> String {
        let scenarios = results.map { scenario, rows in
            let strategies = rows.map { row in
                let shares = row.shares.map { "\($0)" }.joined(separator: ",")
                return "{\"name\":\"\(row.name)\",\"p50_ms\":\(row.p50),\"p99_ms\":\(row.p99),\"p999_ms\":\(row.p999),"
                    + "\"success_rate\":\(row.successRate),\"retries\":\(row.retries),\"requests\":\(row.requests),"
                    + "\"throughput\":\(row.throughput),"
                    + "\"shares\":[\(shares)]}"
            }
            return "{\"name\":\"\(scenario.name)\",\"strategies\":[\(strategies.joined(separator: ","))]}"
        }
        return "{\"scenarios\":[\(scenarios.joined(separator: ","))]}\n"
    }

    private static func format(_ value: Double, _ digits: Int) -> String {
        String(format: "%.\(digits)f", value)
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
