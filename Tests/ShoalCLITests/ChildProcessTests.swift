import Foundation
import ShoalTesting
import Testing

@Suite("ChildProcess, which the CLI tests run programs with")
struct ChildProcessTests {
    @Test("a child that exits without reading its input is no crash: the input's EPIPE is ignored")
    func unreadInput() async throws {
        // A megabyte does not fit in a pipe's buffer, so the write is still going when
        // `true` exits and closes the pipe's other end.
        let result = try await blocking {
            try ChildProcess.run(URL(fileURLWithPath: "/bin/true"), [], stdin: Data(count: 1 << 20))
        }
        #expect(result.status == 0)
    }
}
