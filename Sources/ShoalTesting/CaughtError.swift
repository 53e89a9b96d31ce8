/// The error of type `E` that `body` throws; `nil` when it throws nothing or another type.
///
/// ```swift
/// #expect(caught(HashRingError.self) { _ = try HashRing(nodes: []) }?.code == .emptyNodeSet)
/// ```
public func caught<E: Error>(_ type: E.Type, _ body: () throws -> Void) -> E? {
    do {
        try body()
        return nil
    } catch {
        return error as? E
    }
}

/// The error of type `E` that the asynchronous `body` throws; `nil` when it throws nothing or
/// another type.
public func caught<E: Error>(_ type: E.Type, _ body: () async throws -> Void) async -> E? {
    do {
        try await body()
        return nil
    } catch {
        return error as? E
    }
}
