import FuzzerDriver
import NIOCore
import ShoalRESP

// libFuzzer entry point: decode arbitrary bytes, whole and split in two, and check the
// decoder's promises. A crash, a trap or an address-sanitizer report is a finding.
//
//   scripts/fuzz-resp [seconds]

@_cdecl("LLVMFuzzerTestOneInput")
public func respFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let limits = RESPLimits(maximumBulkLength: 1 << 16, maximumAggregateCount: 1 << 12, maximumDepth: 32)
    let decoder = RESPDecoder(limits: limits)

    var whole = ByteBuffer(bytes: bytes)
    var values: [RESPValue] = []
    while let value = try? decoder.decode(from: &whole) {  // a protocol error ends the stream
        values.append(value)
    }
    // Whatever decodes must encode to bytes that decode whole to a value again.
    for value in values {
        var encoded = ByteBuffer()
        value.write(to: &encoded)
        let again = try? decoder.decode(from: &encoded)
        precondition(again != nil && encoded.readableBytes == 0, "a decoded value did not survive re-encoding")
    }

    // The same bytes in two pieces must give the same leading values.
    if size > 1 {
        var received = ByteBuffer(bytes: bytes[0..<(size / 2)])
        var piecewise: [RESPValue] = []
        var failed = false
        do {
            while let value = try decoder.decode(from: &received) { piecewise.append(value) }
            received.writeBytes(bytes[(size / 2)...])
            while let value = try decoder.decode(from: &received) { piecewise.append(value) }
        } catch {
            failed = true
        }
        if !failed {
            precondition(piecewise.count == values.count, "split input decoded to a different number of values")
        }
    }
    return 0
}

/// SwiftPM links an executable's `main` to `<target>_main`, so the harness has its own main
/// and hands over to libFuzzer's driver.
@_cdecl("RESPFuzzer_main")
public func respFuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        guard let data else { return 0 }
        return respFuzzerTestOneInput(data, size)
    }
}
