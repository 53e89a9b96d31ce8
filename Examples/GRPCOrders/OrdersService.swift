import GRPCCore

/// The `Orders` service: every order it is asked for is shipped, and says which instance
/// answered.
struct OrdersService: Shoal_Example_Orders.SimpleServiceProtocol {
    /// The instance's name, given back in each order's `served_by`.
    let name: String

    func get(request: Shoal_Example_GetOrderRequest, context: ServerContext) async throws -> Shoal_Example_Order {
        guard !request.id.isEmpty else { throw RPCError(code: .invalidArgument, message: "an order needs an id") }
        return order(request.id, status: "shipped")
    }

    func watch(
        request: Shoal_Example_GetOrderRequest, response: RPCWriter<Shoal_Example_Order>, context: ServerContext
    ) async throws {
        for status in ["placed", "packed", "shipped"] {
            try await response.write(order(request.id, status: status))
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    private func order(_ id: String, status: String) -> Shoal_Example_Order {
        var order = Shoal_Example_Order()
        order.id = id
        order.status = status
        order.servedBy = name
        return order
    }
}
