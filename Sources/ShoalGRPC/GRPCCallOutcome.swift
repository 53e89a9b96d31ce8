import GRPCCore
import ShoalBalancing

/// What a gRPC call tells the balancer about the instance that took it: a value, with no I/O,
/// that ``ShoalClientTransport`` reports when the call ends.
///
/// An instance that answered with a status of the application's (`NOT_FOUND`,
/// `INVALID_ARGUMENT`, …) did its job; one that could not be reached or failed inside
/// (`UNAVAILABLE`, `INTERNAL`, `UNKNOWN`, `DATA_LOSS`) counts against it; a deadline that
/// passed is a timeout; a call the caller cancelled is no one's fault.
enum GRPCCallOutcome {
    /// The outcome of a call that ended with `error` (`nil`: it succeeded), after `latency`.
    static func outcome(error: (any Error)?, latency: Duration) -> PickOutcome {
        guard let error else { return .success(latency: latency) }
        if error is CancellationError { return .failure(.cancelled, latency: latency) }
        guard let rpcError = error as? RPCError else { return .failure(.serverError, latency: latency) }
        switch rpcError.code {
        case .unavailable: return .failure(.connectFailure, latency: latency)
        case .internalError, .unknown, .dataLoss: return .failure(.serverError, latency: latency)
        case .deadlineExceeded: return .failure(.timeout, latency: latency)
        case .cancelled: return .failure(.cancelled, latency: latency)
        default: return .success(latency: latency)
        }
    }
}
