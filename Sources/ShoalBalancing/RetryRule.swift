/// When a request that failed on one instance may be tried on another: the one rule that the
/// gateway and `ServiceClient` share.
///
/// A retry goes to an instance the request has not tried (pick with `avoiding:` the addresses
/// tried so far), and only when all of these hold, asked in this order:
/// 1. the request can be sent twice (``isRepeatable(method:hasBody:)``);
/// 2. nothing of the answer has reached the caller;
/// 3. tries are left (`retries` after the first) and time is left before the deadline;
/// 4. an instance is left that the request has not tried;
/// 5. the service's ``RetryBudget`` has a retry to give (asked last: asking takes one).
public struct RetryRule: Sendable, Hashable {
    /// Tries allowed after the first.
    public var retries: Int

    public init(retries: Int) {
        self.retries = retries
    }

    /// Whether another try may start after `triesSoFar` tries (the first one included).
    ///
    /// - Parameters:
    ///   - repeatable: what ``isRepeatable(method:hasBody:)`` said of the request.
    ///   - answerStarted: whether any of the answer went to the caller already.
    ///   - timeLeft: whether the request's deadline is still ahead.
    ///   - untriedLeft: whether the service has an instance the request has not tried.
    ///   - budget: the service's retry budget; a `true` answer has taken a retry from it.
    public func allowsAnotherTry(
        triesSoFar: Int, repeatable: Bool, answerStarted: Bool, timeLeft: Bool, untriedLeft: Bool,
        budget: RetryBudget
    ) -> Bool {
        allowsAnotherTry(
            triesSoFar: triesSoFar, repeatable: repeatable, answerStarted: answerStarted, timeLeft: timeLeft,
            untriedLeft: { untriedLeft }, withdraw: { budget.tryWithdraw() })
    }

    /// The same rule, for a caller that keeps its budget (and its instances) elsewhere:
    /// `untriedLeft` is asked only once the conditions before it hold, and `withdraw` last,
    /// when every other condition holds; it takes a retry from the budget and says whether
    /// it could.
    public func allowsAnotherTry(
        triesSoFar: Int, repeatable: Bool, answerStarted: Bool, timeLeft: Bool, untriedLeft: () -> Bool,
        withdraw: () -> Bool
    ) -> Bool {
        guard repeatable, !answerStarted, triesSoFar <= retries, timeLeft, untriedLeft() else { return false }
        return withdraw()
    }

    /// Whether a request may be sent twice: its method is idempotent (RFC 9110 §9.2.2:
    /// GET, HEAD, PUT, DELETE, OPTIONS, TRACE; names are case-sensitive) and it has no body
    /// that would have to be kept to send again.
    @inlinable
    public static func isRepeatable<Name: Collection>(method name: Name, hasBody: Bool) -> Bool
    where Name.Element == UInt8 {
        !hasBody && isIdempotent(method: name)
    }

    /// Whether a method is idempotent (RFC 9110 §9.2.2): sending it twice has the effect of
    /// sending it once.
    @inlinable
    public static func isIdempotent<Name: Collection>(method name: Name) -> Bool where Name.Element == UInt8 {
        switch name.count {
        case 3: name.elementsEqual("GET".utf8) || name.elementsEqual("PUT".utf8)
        case 4: name.elementsEqual("HEAD".utf8)
        case 5: name.elementsEqual("TRACE".utf8)
        case 6: name.elementsEqual("DELETE".utf8)
        case 7: name.elementsEqual("OPTIONS".utf8)
        default: false
        }
    }
}
