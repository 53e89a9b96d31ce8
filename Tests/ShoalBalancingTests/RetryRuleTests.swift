import ShoalBalancing
import ShoalCore
import Testing

@Suite("Retry rule")
struct RetryRuleTests {
    @Test("idempotent methods without a body are repeatable; names are case-sensitive")
    func repeatable() {
        for method in ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"] {
            #expect(RetryRule.isRepeatable(method: method.utf8, hasBody: false), "\(method)")
            #expect(!RetryRule.isRepeatable(method: method.utf8, hasBody: true), "\(method) with a body")
        }
        for method in ["POST", "PATCH", "CONNECT", "get", "GETS", "", "DELETED"] {
            #expect(!RetryRule.isRepeatable(method: method.utf8, hasBody: false), "\(method)")
        }
    }

    @Test("each condition alone refuses, and the budget is asked only when all the others allow")
    func conditions() {
        let clock = ManualClock()
        let budget = RetryBudget(
            configuration: .init(ttl: .seconds(10), minimumRetriesPerSecond: 0.1, percentCanRetry: 0), clock: clock)
        #expect(budget.balance == 1)
        let rule = RetryRule(retries: 2)
        func allows(
            tries: Int = 1, repeatable: Bool = true, started: Bool = false, time: Bool = true, untried: Bool = true
        ) -> Bool {
            rule.allowsAnotherTry(
                triesSoFar: tries, repeatable: repeatable, answerStarted: started, timeLeft: time,
                untriedLeft: untried, budget: budget)
        }
        #expect(!allows(repeatable: false))
        #expect(!allows(started: true))
        #expect(!allows(tries: 3))
        #expect(!allows(time: false))
        #expect(!allows(untried: false))
        #expect(budget.balance == 1, "a refusal took from the budget")
        #expect(allows(tries: 2))
        #expect(budget.balance == 0)
        #expect(!allows(), "the budget is empty")
    }
}
