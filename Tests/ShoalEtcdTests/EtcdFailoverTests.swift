import GRPCCore
import Testing

@testable import ShoalEtcd

@Suite("EtcdFailover: what a failed try means, and how long to pause between rounds")
struct EtcdFailoverTests {
    @Test(
        "unavailable members are left; lapsed tokens renewed; refusals reported",
        arguments: [
            (RPCError.Code.unavailable, "etcdserver: no leader", "moveOn"),
            (.deadlineExceeded, "", "moveOn"),
            (.unknown, "etcdserver: leader changed", "moveOn"),
            (.unauthenticated, "etcdserver: invalid auth token", "reauthenticate"),
            (.invalidArgument, "etcdserver: user name is empty", "reauthenticate"),
            (.invalidArgument, "etcdserver: authentication failed, invalid user ID or password", "fail"),
            (.permissionDenied, "etcdserver: permission denied", "fail"),
            (.outOfRange, "etcdserver: mvcc: required revision has been compacted", "fail"),
        ])
    func classify(code: RPCError.Code, message: String, expected: String) {
        let outcome: String
        switch EtcdFailover.classify(code, message: message) {
        case .moveOn: outcome = "moveOn"
        case .reauthenticate: outcome = "reauthenticate"
        case .fail: outcome = "fail"
        }
        #expect(outcome == expected, "\(code) \(message)")
    }

    @Test("no pause after the first round, then 50 ms doubling to 250 ms")
    func pauses() {
        let pauses = (1...7).map { EtcdFailover.pause(afterRound: $0) }
        #expect(
            pauses == [
                .zero, .milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(250),
                .milliseconds(250), .milliseconds(250),
            ])
    }
}
