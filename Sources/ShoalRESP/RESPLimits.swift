/// Limits that keep a decoder's memory bounded whatever a server (or an attacker in its
/// place) sends. Exceeding one is a ``RESPProtocolError``; the connection should be closed.
public struct RESPLimits: Sendable, Hashable {
    /// The longest bulk string, blob error or verbatim string, in bytes. Default 512 MiB,
    /// Redis's own `proto-max-bulk-len`.
    public var maximumBulkLength: Int
    /// The most elements in one array, set or push, or entries in one map or attribute.
    /// Default 16 Mi.
    public var maximumAggregateCount: Int
    /// The deepest nesting of aggregates; attributes count as one level for the value they
    /// describe, so chains of attributes are bounded too. Default 64.
    public var maximumDepth: Int
    /// The longest simple string, simple error, number or double line, in bytes. Default 64 KiB.
    public var maximumLineLength: Int

    public init(
        maximumBulkLength: Int = 512 << 20, maximumAggregateCount: Int = 16 << 20, maximumDepth: Int = 64,
        maximumLineLength: Int = 64 << 10
    ) {
        self.maximumBulkLength = maximumBulkLength
        self.maximumAggregateCount = maximumAggregateCount
        self.maximumDepth = maximumDepth
        self.maximumLineLength = maximumLineLength
    }
}
