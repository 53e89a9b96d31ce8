/// Bytes that are not valid RESP, or that exceed a ``RESPLimits`` limit. The stream cannot be
/// resynchronised after one: close the connection.
public struct RESPProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was wrong. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable {
        fileprivate enum Base: Hashable, Sendable {
            case unknownType, invalidLength, invalidInteger, invalidDouble, invalidBoolean, missingTerminator
            case bulkTooLong, aggregateTooLarge, nestedTooDeep, lineTooLong, unsupported
        }
        fileprivate let base: Base

        /// A value started with a byte that is no RESP type.
        public static let unknownType = Code(base: .unknownType)
        /// A length or count is not a number, or negative other than RESP2's `-1`.
        public static let invalidLength = Code(base: .invalidLength)
        /// An integer is not a signed 64-bit decimal.
        public static let invalidInteger = Code(base: .invalidInteger)
        /// A double is not a number, `inf`, `-inf` or `nan`.
        public static let invalidDouble = Code(base: .invalidDouble)
        /// A boolean is not `t` or `f`.
        public static let invalidBoolean = Code(base: .invalidBoolean)
        /// A line or payload is not followed by CRLF.
        public static let missingTerminator = Code(base: .missingTerminator)
        /// A bulk payload is longer than ``RESPLimits/maximumBulkLength``.
        public static let bulkTooLong = Code(base: .bulkTooLong)
        /// An aggregate has more elements than ``RESPLimits/maximumAggregateCount``.
        public static let aggregateTooLarge = Code(base: .aggregateTooLarge)
        /// Aggregates nest deeper than ``RESPLimits/maximumDepth``.
        public static let nestedTooDeep = Code(base: .nestedTooDeep)
        /// A line is longer than ``RESPLimits/maximumLineLength`` without its CRLF.
        public static let lineTooLong = Code(base: .lineTooLong)
        /// A valid RESP3 form Shoal does not accept (streamed strings and aggregates).
        public static let unsupported = Code(base: .unsupported)
    }

    /// What was wrong.
    public let code: Code
    /// Where, as a byte offset from the start of the frame being decoded.
    public let offset: Int
    /// What was wrong and where.
    public let message: String

    init(_ code: Code, at offset: Int, _ message: String) {
        self.code = code
        self.offset = offset
        self.message = message
    }

    public var description: String { "RESP protocol error at byte \(offset): \(message)" }
}
