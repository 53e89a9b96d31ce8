import NIOCore

/// The HTTP/1 reader's promises, checked on arbitrary bytes for the libFuzzer harness
/// (`scripts/fuzz-http1`). A broken promise traps, which the fuzzer reports:
/// - nothing traps on any input;
/// - a request head that is accepted is forwarded as a head that is accepted again, with
///   the same method, target and framing, no hop-by-hop field, one `X-Request-Id`, and the
///   client's other fields with the same names and values in the same order;
/// - an accepted head's target, once normalised, is the same when normalised again;
/// - a response head that is accepted goes to the client as one that is accepted again,
///   with the same status and the framing the gateway chose;
/// - a chunked body decodes to the same data and trailer fields whole and in two pieces.
package enum HTTP1FuzzCheck {
    package static func check(_ bytes: UnsafeRawBufferPointer) {
        let input = ByteBuffer(bytes: bytes)
        if let head = try? RequestHead(HTTPHeadScanner.firstHead(in: input) ?? []) {
            checkForwarding(head)
            if let target = try? RequestTarget(head.targetString) { checkNormalised(target) }
        }
        if let head = try? ResponseHead(HTTPHeadScanner.firstHead(in: input) ?? []) { checkClientHead(head) }
        checkChunked(Array(bytes))
    }

    static func checkForwarding(_ head: RequestHead) {
        var out = ByteBuffer()
        head.writeUpstreamHead(
            target: head.targetString, hostIfMissing: "service", clientIP: "127.0.0.1", requestID: "fuzz",
            traceFields: [], to: &out)
        let again = reparse(out, "a forwarded head", RequestHead.init)
        precondition(again.bytes[again.method] == head.bytes[head.method], "the method changed")
        precondition(again.targetString == head.targetString, "the target changed")
        precondition(again.chunked == head.chunked && again.contentLength == head.contentLength, "the framing changed")
        precondition(again.keepAlive && again.minorVersion == 1, "a forwarded head is not HTTP/1.1 keep-alive")
        precondition(!again.fields.contains { $0.kind == .hopByHop || $0.kind == .expect }, "a hop-by-hop field")
        precondition(again.isUpgrade == head.isUpgrade, "the upgrade changed")
        precondition(head.isUpgrade || !again.fields.contains { $0.kind == .upgrade }, "an Upgrade field")
        precondition(again.fields.filter { $0.kind == .requestID }.count == 1, "not one X-Request-Id")
        precondition(
            passedOn(head) == passedOn(again, addedHost: !head.fields.contains { $0.kind == .host }),
            "the fields passed on changed")
    }

    static func checkNormalised(_ target: RequestTarget) {
        guard let again = try? RequestTarget(target.uri) else { preconditionFailure("a normalised target is refused") }
        precondition(
            again.uri == target.uri && again.hasEncodedSeparator == target.hasEncodedSeparator,
            "normalising the target again changed it")
    }

    /// The names and values of the fields a proxy passes on as they came; with `addedHost`,
    /// without the first `Host`, which the gateway added.
    private static func passedOn(_ head: RequestHead, addedHost: Bool = false) -> [[UInt8]] {
        var fields = head.fields.filter { field in
            switch field.kind {
            case .host: true
            case .other, .userAgent, .forwardedClientCert: !head.field(field, isNamedIn: head.connectionNames)
            case .upgrade: head.isUpgrade
            default: false
            }
        }
        if addedHost { fields.removeFirst() }
        return fields.flatMap { [head.bytes[$0.name].map(\.asciiLowercased), Array(head.bytes[$0.value])] }
    }

    static func checkClientHead(_ head: ResponseHead) {
        let framing = head.bodyFraming(requestIsHead: false)?.forClient(minorVersion: 1)
        var out = ByteBuffer()
        head.writeClientHead(
            clientFraming: framing, requestID: "fuzz", keepAlive: true, clientMinorVersion: 1, to: &out)
        let again = reparse(out, "a client head", ResponseHead.init)
        precondition(again.status == head.status, "the status changed")
        if !head.hasNoBody {
            precondition(again.bodyFraming(requestIsHead: false) == framing, "the framing changed")
        }
    }

    /// The head the gateway wrote, read back: it must be exactly one whole head, accepted.
    static func reparse<Head>(
        _ written: ByteBuffer, _ what: String, _ parse: ([UInt8]) throws(HTTPParseError) -> Head
    ) -> Head {
        guard let bytes = HTTPHeadScanner.firstHead(in: written), bytes.count == written.readableBytes else {
            preconditionFailure("\(what) is not one whole head")
        }
        do {
            return try parse(bytes)
        } catch {
            preconditionFailure("\(what) is refused: \(error)")
        }
    }

    static func checkChunked(_ bytes: [UInt8]) {
        func decode(_ pieces: [ArraySlice<UInt8>]) -> (data: [UInt8], ended: Bool, trailers: [UInt8]?)? {
            var decoder = HTTPBodyDecoder(.chunked)
            var buffer = ByteBuffer()
            var data: [UInt8] = []
            for piece in pieces {
                buffer.writeBytes(piece)
                do {
                    while let next = try decoder.next(from: &buffer) {
                        guard case .data(let slice) = next else { return (data, true, decoder.trailers?.bytes) }
                        data += slice.readableBytesView
                    }
                } catch {
                    return nil
                }
            }
            return (data, false, nil)
        }
        let whole = decode([bytes[...]])
        let split = decode([bytes[..<(bytes.count / 2)], bytes[(bytes.count / 2)...]])
        if let whole, whole.ended {
            precondition(
                split?.ended == true && split?.data == whole.data && split?.trailers == whole.trailers,
                "a split chunked body decoded differently")
        }
    }
}
