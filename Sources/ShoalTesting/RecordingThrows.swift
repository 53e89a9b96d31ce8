import Testing

/// Runs `body` and records an error it throws as a test issue, for the bodies of
/// `propertyCheck`.
///
/// swift-property-based 2.0.1 on Swift 6.2 and later runs a property's body under `try?`, so
/// an error thrown there counts as a passing iteration. Wrapped in this, the error fails the
/// iteration like a failed `#expect`, and the property check shrinks and reports it.
///
/// ```swift
/// await propertyCheck(input: Gen.uint64()) { seed in
///     await recordingThrows {
///         #expect(try decode(seed) == expected(seed))
///     }
/// }
/// ```
public func recordingThrows(
    fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column,
    _ body: () async throws -> Void
) async {
    do {
        try await body()
    } catch {
        Issue.record(
            error, "the property's body threw",
            sourceLocation: SourceLocation(fileID: fileID, filePath: filePath, line: line, column: column))
    }
}
