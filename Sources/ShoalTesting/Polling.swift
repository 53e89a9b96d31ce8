import Foundation

/// Yields until `condition` holds, at most 20,000 times: for tasks woken by a
/// `ManualClock`, which need a moment to run before the test looks.
public func settle(_ condition: () -> Bool) async {
    for _ in 0..<20_000 where !condition() { await Task.yield() }
}

/// Polls `condition` every 10 ms for up to `seconds` of real time; whether it came to hold.
/// For tests that wait on other processes or on the network; the condition may await (a
/// request, say).
public func eventually(within seconds: Double = 5, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

/// Runs blocking work (sockets read and written by hand, say) on a thread of its own, so it
/// does not hold one of the few threads that every test's async code shares.
public func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
