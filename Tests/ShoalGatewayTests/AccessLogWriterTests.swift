import Foundation
import Testing

@testable import ShoalGateway

@Suite("the access log's writer thread")
struct AccessLogWriterTests {
    @Test("finish writes what was handed over even when the caller is cancelled already")
    func finishWhenCancelled() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-access-\(UUID()).log").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = AccessLogWriter(file: try AccessLogFile(.file(path)), maxPendingBytes: 1 << 24)
        for n in 0..<20_000 { writer.write(Array("line \(n)\n".utf8), lines: 1) }
        let finishing = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await writer.finish(within: .seconds(10))
        }
        await finishing.value
        let written = try String(contentsOfFile: path, encoding: .utf8)
        #expect(written.split(separator: "\n").count == 20_000)
    }
}
