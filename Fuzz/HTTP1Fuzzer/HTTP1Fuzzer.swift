import FuzzerDriver
import ShoalGateway

// libFuzzer entry point: the gateway's HTTP/1 reader on arbitrary bytes, as request and
// response heads and as a chunked body; HTTP1FuzzCheck traps when a promise breaks.
//
//   scripts/fuzz-http1 [seconds]

@_cdecl("LLVMFuzzerTestOneInput")
public func http1FuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    HTTP1FuzzCheck.check(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// SwiftPM links an executable's `main` to `<target>_main`, so the harness has its own main
/// and hands over to libFuzzer's driver.
@_cdecl("HTTP1Fuzzer_main")
public func http1FuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        guard let data else { return 0 }
        return http1FuzzerTestOneInput(data, size)
    }
}
