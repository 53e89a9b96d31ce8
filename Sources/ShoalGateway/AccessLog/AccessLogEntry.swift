/// One line of the access log: what happened to one request. See
/// ``GatewayConfiguration/AccessLog`` for the fields.
struct AccessLogEntry {
    /// When the request's head arrived (or the bytes that were not one).
    var time: Int64
    var requestID: String?
    var client: String?
    /// The request's head; `nil` for bytes that were not a request.
    var request: RequestHead?
    /// 0 when no answer was sent.
    var status: Int
    var route: String?
    var upstream: String?
    var tries = 0
    var requestBytes = 0
    var responseBytes = 0
    var durationNanoseconds: Int64
    /// How long the instance that answered took to send its response's head; `nil` when
    /// none did.
    var upstreamNanoseconds: Int64? = nil
    var error: String?
    /// Whether the request came on an HTTP/2 stream (its head is the HTTP/1.1 one the
    /// gateway wrote for it).
    var http2 = false
    /// A gRPC call's status, from the instance's trailers or the gateway's own answer.
    var grpcStatus: Int? = nil
}

extension [UInt8] {
    /// Appends `entry` as one line of JSON, ending in a line feed.
    mutating func appendAccessLogLine(_ entry: AccessLogEntry) {
        append(contentsOf: #"{"time":""#.utf8)
        appendUTCTime(millisecondsSinceEpoch: entry.time)
        append(contentsOf: #"","request_id":"#.utf8)
        appendJSON(entry.requestID)
        append(contentsOf: #","client":"#.utf8)
        appendJSON(entry.client)
        let head = entry.request
        append(contentsOf: #","method":"#.utf8)
        appendJSON(bytesOf: head, head?.method)
        append(contentsOf: #","host":"#.utf8)
        appendJSON(bytesOf: head, head?.fields.first { $0.kind == .host }?.value)
        append(contentsOf: #","target":"#.utf8)
        appendJSON(bytesOf: head, head?.target)
        append(contentsOf: #","protocol":"#.utf8)
        if entry.http2 {
            append(contentsOf: #""HTTP/2""#.utf8)
        } else if let head {
            append(contentsOf: (head.minorVersion == 0 ? #""HTTP/1.0""# : #""HTTP/1.1""#).utf8)
        } else {
            append(contentsOf: "null".utf8)
        }
        append(contentsOf: #","status":"#.utf8)
        appendDecimal(Int64(entry.status))
        append(contentsOf: #","grpc_status":"#.utf8)
        if let code = entry.grpcStatus { appendDecimal(Int64(code)) } else { append(contentsOf: "null".utf8) }
        append(contentsOf: #","route":"#.utf8)
        appendJSON(entry.route)
        append(contentsOf: #","upstream":"#.utf8)
        appendJSON(entry.upstream)
        append(contentsOf: #","tries":"#.utf8)
        appendDecimal(Int64(entry.tries))
        append(contentsOf: #","request_bytes":"#.utf8)
        appendDecimal(Int64(entry.requestBytes))
        append(contentsOf: #","response_bytes":"#.utf8)
        appendDecimal(Int64(entry.responseBytes))
        append(contentsOf: #","duration_ms":"#.utf8)
        appendMilliseconds(nanoseconds: entry.durationNanoseconds)
        append(contentsOf: #","upstream_ms":"#.utf8)
        if let upstream = entry.upstreamNanoseconds {
            appendMilliseconds(nanoseconds: upstream)
        } else {
            append(contentsOf: "null".utf8)
        }
        append(contentsOf: #","user_agent":"#.utf8)
        appendJSON(bytesOf: head, head?.fields.first { $0.kind == .userAgent }?.value)
        append(contentsOf: #","error":"#.utf8)
        appendJSON(entry.error)
        append(contentsOf: "}\n".utf8)
    }

    private mutating func appendJSON(_ string: String?) {
        if let string { appendJSONString(string) } else { append(contentsOf: "null".utf8) }
    }

    private mutating func appendJSON(bytesOf head: RequestHead?, _ range: Range<Int>?) {
        if let head, let range { appendJSONString(bytes: head.bytes[range]) } else { append(contentsOf: "null".utf8) }
    }
}
