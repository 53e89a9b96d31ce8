import ServiceLifecycle

extension Service {
    /// Runs `body` while this service runs beside it, and stops the service when `body`
    /// returns or throws.
    func running<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.run() }
            defer { group.cancelAll() }
            return try await body()
        }
    }
}
