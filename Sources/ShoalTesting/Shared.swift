import Synchronization

/// Locked state that test tasks share: a `Mutex` cannot be captured by escaping closures,
/// such as a `Task`'s.
public final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: Value) {
        mutex = Mutex(value)
    }

    /// Changes the value under the lock, and returns what `body` returns.
    public func update<Result>(_ body: (inout Value) -> Result) -> Result {
        mutex.withLock { body(&$0) }
    }

    /// The value now.
    public var value: Value { mutex.withLock { $0 } }
}
