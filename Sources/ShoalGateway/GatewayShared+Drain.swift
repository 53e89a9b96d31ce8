import Synchronization

/// Waiting for the last client connection to close, without polling.
extension GatewayShared {
    /// Counts a connection that closed; the last one to close during a drain wakes it.
    func connectionClosed() {
        let open = connections.wrappingSubtract(1, ordering: .acquiringAndReleasing).newValue
        guard open == 0, isDraining else { return }
        drainWaiter.withLock { $0.take() }?.resume()
    }

    /// Returns once no client connection is open, or when cancelled. Call after ``draining``
    /// is set, so that the last connection to close knows to wake it.
    func waitUntilNoConnections() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = drainWaiter.withLock { waiter -> Bool in
                    if connections.load(ordering: .acquiring) == 0 || Task.isCancelled { return true }
                    waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            drainWaiter.withLock { $0.take() }?.resume()
        }
    }
}
