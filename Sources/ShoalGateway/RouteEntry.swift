/// A route of the gateway's table and its index there, made once when the gateway starts.
///
/// An exchange holds its route by this reference: copying a ``GatewayRoute`` (its host,
/// prefix and service strings) into every request, and out again at each use, cost more
/// reference counting than the rest of the request's bookkeeping.
final class RouteEntry: Sendable {
    /// The index in the route table, for the route's upstream set, metrics and label.
    let index: Int
    let route: GatewayRoute
    /// What of the route decides an exchange on it, as the proxy's state machine takes it.
    let limits: ExchangeState.Route

    init(index: Int, route: GatewayRoute) {
        self.index = index
        self.route = route
        limits = ExchangeState.Route(
            timeout: route.timeout.timeAmount, perTryTimeout: route.perTryTimeout.timeAmount,
            retries: route.retries, maxBodyBytes: route.maxBodyBytes)
    }
}
