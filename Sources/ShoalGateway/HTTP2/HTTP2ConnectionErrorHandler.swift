import NIOCore
import NIOHTTP2

/// The last handler of an HTTP/2 client connection: it closes the connection when
/// swift-nio-http2 reports an error of the whole connection (a protocol error, or a peer that
/// tripped a flood limit), which the codec has answered with `GOAWAY` but would otherwise go
/// on serving; the close sends what was written first.
///
/// The codec reports the errors of a single stream here too, after resetting only that
/// stream: a malformed header block, a body longer than its `content-length`, a frame for a
/// stream already reset. Those leave the connection and its other streams alone; a peer that
/// makes too many of them trips the codec's stream-error limit, which is a connection error.
final class HTTP2ConnectionErrorHandler: ChannelInboundHandler {
    typealias InboundIn = Never

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if Self.isStreamError(error) { return }
        context.close(promise: nil)
    }

    /// Whether swift-nio-http2 raises `error` for one stream's headers, body or state.
    static func isStreamError(_ error: any Error) -> Bool {
        switch error {
        case is NIOHTTP2Errors.MissingPseudoHeader, is NIOHTTP2Errors.DuplicatePseudoHeader,
            is NIOHTTP2Errors.PseudoHeaderAfterRegularHeader, is NIOHTTP2Errors.UnknownPseudoHeader,
            is NIOHTTP2Errors.UnsupportedPseudoHeader, is NIOHTTP2Errors.InvalidPseudoHeaders,
            is NIOHTTP2Errors.MissingHostHeader, is NIOHTTP2Errors.DuplicateHostHeader,
            is NIOHTTP2Errors.EmptyPathHeader, is NIOHTTP2Errors.InvalidPseudoHeaderValue,
            is NIOHTTP2Errors.ForbiddenHeaderField, is NIOHTTP2Errors.TrailersWithoutEndStream,
            is NIOHTTP2Errors.InvalidHTTP2HeaderFieldName, is NIOHTTP2Errors.InvalidHTTP2HeaderFieldValue,
            is NIOHTTP2Errors.ContentLengthViolated, is NIOHTTP2Errors.ContentLengthHeadersMismatch,
            is NIOHTTP2Errors.ContentLengthHeaderNegative, is NIOHTTP2Errors.ContentLengthHeaderMalformedValue,
            is NIOHTTP2Errors.StreamClosed, is NIOHTTP2Errors.NoSuchStream:
            true
        default:
            false
        }
    }
}
