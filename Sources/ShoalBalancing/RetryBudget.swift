import ShoalCore
import Synchronization

/// Limits retries to a share of recent requests plus a small reserve, so that retries cannot
/// multiply load when a service is failing (Finagle's and tower's retry budget).
///
/// Every request makes a ``deposit()``; every retry must ``tryWithdraw()`` first. Over the
/// last `ttl`, retries may number at most `percentCanRetry` × requests +
/// `minimumRetriesPerSecond` × `ttl` seconds.
///
/// ```swift
/// let budget = RetryBudget(clock: SystemClock())   // 20 % of requests, 10 a second reserve
/// budget.deposit()
/// if failed, budget.tryWithdraw() { retry() }
/// ```
public final class RetryBudget: Sendable {
    /// The budget's settings.
    public struct Configuration: Sendable, Hashable {
        /// How long a deposit counts. Default 10 s (Finagle's default).
        public var ttl: Duration
        /// Retries allowed per second regardless of traffic, so that a quiet client can still
        /// retry. Default 10.
        public var minimumRetriesPerSecond: Double
        /// Retries allowed per request deposited. Default 0.2.
        public var percentCanRetry: Double

        public init(ttl: Duration = .seconds(10), minimumRetriesPerSecond: Double = 10, percentCanRetry: Double = 0.2) {
            self.ttl = ttl
            self.minimumRetriesPerSecond = minimumRetriesPerSecond
            self.percentCanRetry = percentCanRetry
        }
    }

    private struct Window {
        var deposits: [Int]
        var withdrawals: [Int]
        var epochs: [Int64]
    }

    private static let bucketCount = 10
    public let configuration: Configuration
    private let clock: any MonotonicClock
    private let window: Mutex<Window>

    public init(configuration: Configuration = Configuration(), clock: any MonotonicClock) {
        self.configuration = configuration
        self.clock = clock
        window = Mutex(
            Window(
                deposits: Array(repeating: 0, count: Self.bucketCount),
                withdrawals: Array(repeating: 0, count: Self.bucketCount),
                epochs: Array(repeating: .min, count: Self.bucketCount)))
    }

    private var bucketNanoseconds: Int64 {
        max(1, configuration.ttl.totalNanoseconds / Int64(Self.bucketCount))
    }

    /// Counts one request.
    public func deposit() {
        let epoch = clock.now().nanoseconds / bucketNanoseconds
        window.withLock { window in
            let slot = Self.slot(for: epoch, in: &window)
            window.deposits[slot] += 1
        }
    }

    /// Takes one retry from the budget; `false` when the budget is spent.
    public func tryWithdraw() -> Bool {
        let epoch = clock.now().nanoseconds / bucketNanoseconds
        return window.withLock { window in
            let slot = Self.slot(for: epoch, in: &window)
            guard Self.balance(window, epoch: epoch, configuration: configuration) >= 1 else { return false }
            window.withdrawals[slot] += 1
            return true
        }
    }

    /// Retries that could be made now.
    public var balance: Int {
        let epoch = clock.now().nanoseconds / bucketNanoseconds
        return window.withLock { window in
            // Buckets older than the window are left out by their epoch: nothing to reset.
            Int(Self.balance(window, epoch: epoch, configuration: configuration).rounded(.down))
        }
    }

    private static func slot(for epoch: Int64, in window: inout Window) -> Int {
        let slot = Int(epoch % Int64(bucketCount))
        if window.epochs[slot] != epoch {
            window.epochs[slot] = epoch
            window.deposits[slot] = 0
            window.withdrawals[slot] = 0
        }
        return slot
    }

    private static func balance(_ window: Window, epoch: Int64, configuration: Configuration) -> Double {
        let oldest = epoch - Int64(bucketCount) + 1
        var deposits = 0
        var withdrawals = 0
        for index in 0..<bucketCount where window.epochs[index] >= oldest {
            deposits += window.deposits[index]
            withdrawals += window.withdrawals[index]
        }
        let reserve = configuration.minimumRetriesPerSecond * configuration.ttl.seconds
        return reserve + configuration.percentCanRetry * Double(deposits) - Double(withdrawals)
    }
}
