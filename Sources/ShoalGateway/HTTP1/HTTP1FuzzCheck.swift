import NIOCore

/// The HTTP/1 reader's promises, checked on arbitrary bytes for the libFuzzer harness
/// (`scripts/fuzz-http1`). A broken promise traps, which the fuzzer reports:
/// - nothing traps on any input;
/// - a request head that is accepted is forwarded as a head that is accepted again, with
///   the same method, target and framing, no hop-by-hop field and one `X-Request-Id`;
/// - a response head that is accepted goes to the client as one that is accepted again,
///   with the same status and the framing the gateway chose;
/// - a chunked body decodes to the same data whole and in two pieces.
@_spi(Fuzzing)
public enum HTTP1FuzzCheck {
    public static func check(_ bytes: UnsafeRawBufferPointer) {
        let input = ByteBuffer(bytes: bytes)
        if let head = try? RequestHead(wholeHead(input) ?? []) { checkForwarding(head) }
        if let head = try? ResponseHead(wholeHead(input) ?? []) { checkClientHead(head) }
        checkChunked(Array(bytes))
    }

    /// The first head in `buffer`, if a whole one is there.
    static func wholeHead(_ buffer: ByteBuffer) -> [UInt8]? {
        var scanner = HTTPHeadScanner()
        guard case .complete(let skip, let length) = scanner.scan(buffer) else { return nil }
        return buffer.getBytes(at: buffer.readerIndex + skip, length: length)
    }

    static func checkForwarding(_ head: RequestHead) {
        var out = ByteBuffer()
        head.writeUpstreamHead(
            target: head.targetString, hostIfMissing: "service", clientIP: "127.0.0.1", requestID: "fuzz",
            traceFields: [], to: &out)
        guard let bytes = wholeHead(out), bytes.count == out.readableBytes else {
            preconditionFailure("a forwarded head is not one whole head")
        }
        let again: RequestHead
        do {
            again = try RequestHead(bytes)
        } catch {
            preconditionFailure("a forwarded head is refused: \(error)")
        }
        precondition(again.bytes[again.method] == head.bytes[head.method], "the method changed")
        precondition(again.targetString == head.targetString, "the target changed")
        precondition(again.chunked == head.chunked && again.contentLength == head.contentLength, "the framing changed")
        precondition(again.keepAlive && again.minorVersion == 1, "a forwarded head is not HTTP/1.1 keep-alive")
        precondition(!again.fields.contains { $0.kind == .hopByHop || $0.kind == .expect }, "a hop-by-hop field")
        precondition(again.fields.filter { $0.kind == .requestID }.count == 1, "not one X-Request-Id")
    }

    static func checkClientHead(_ head: ResponseHead) {
        let framing: HTTPBodyDecoder.Framing? =
            switch head.bodyFraming(requestIsHead: false) {
            case nil: nil
            case .length(let length): .length(length)
            case .chunked, .untilClose: .chunked
            }
        var out = ByteBuffer()
        head.writeClientHead(
            clientFraming: framing, requestID: "fuzz", keepAlive: true, clientMinorVersion: 1, to: &out)
        guard let bytes = wholeHead(out), bytes.count == out.readableBytes else {
            preconditionFailure("a client head is not one whole head")
        }
        let again: ResponseHead
        do {
            again = try ResponseHead(bytes)
        } catch {
            preconditionFailure("a client head is refused: \(error)")
        }
        precondition(again.status == head.status, "the status changed")
        if !head.hasNoBody {
            precondition(again.bodyFraming(requestIsHead: false) == framing, "the framing changed")
        }
    }

    static func checkChunked(_ bytes: [UInt8]) {
        func decode(_ pieces: [ArraySlice<UInt8>]) -> (data: [UInt8], ended: Bool)? {
            var decoder = HTTPBodyDecoder(.chunked)
            var buffer = ByteBuffer()
            var data: [UInt8] = []
            for piece in pieces {
                buffer.writeBytes(piece)
                do {
                    while let next = try decoder.next(from: &buffer) {
                        guard case .data(let slice) = next else { return (data, true) }
                        data += slice.readableBytesView
                    }
                } catch {
                    return nil
                }
            }
            return (data, false)
        }
        let whole = decode([bytes[...]])
        let split = decode([bytes[..<(bytes.count / 2)], bytes[(bytes.count / 2)...]])
        if let whole, whole.ended {
            precondition(split?.ended == true && split?.data == whole.data, "a split chunked body decoded differently")
        }
    }
}
