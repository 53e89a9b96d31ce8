import ArgumentParser
import ShoalHashing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `shoal ring place`: reads keys from standard input and prints where each one goes.
struct RingPlaceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "place",
        abstract: "Print the node of each key read from standard input, as CSV (key,node).",
        discussion: """
            Keys are the bytes between newlines; an empty line is the empty key, and any bytes \
            (UTF-8 or not) are hashed as they are. Output is CSV with the header key,node; a key \
            containing a comma, a double quote or a carriage return is quoted. The node is \
            printed as HOST:PORT exactly as given to --node.

            Example:
              printf 'user:1\\nuser:2\\n' | shoal ring place --algorithm ketama \\
                  --node 10.0.0.1:11211 --node 10.0.0.2:11211=2
            """
    )

    @OptionGroup var placement: PlacementOptions

    @Option(name: .customLong("node"), help: "A node as HOST:PORT[=WEIGHT]; repeat for each node.")
    var nodes: [String] = []

    func run() async throws {
        let parsed = try ParsedNode.parse(nodes)
        let ring = try placement.makeRing(nodes: parsed)
        let names = parsed.map { Array($0.name.utf8) }
        var output = StandardOutput()
        try output.append("key,node\n")
        try KeyLineReader.forEachLine(fileDescriptor: 0) { key in
            let node = ring.index(forKeyBytes: key)
            try CSV.appendField(key, to: &output)
            try output.append(CollectionOfOne(UInt8(ascii: ",")))
            try output.append(names[node])
            try output.append(CollectionOfOne(UInt8(ascii: "\n")))
        }
        try output.flush()
    }
}

/// RFC 4180 fields.
enum CSV {
    static func needsQuotes(_ field: UnsafeRawBufferPointer) -> Bool {
        field.contains {
            $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n")
        }
    }

    static func appendField(_ field: UnsafeRawBufferPointer, to output: inout StandardOutput) throws(RuntimeFailure) {
        guard needsQuotes(field) else {
            try output.append(field)
            return
        }
        var quoted: [UInt8] = [UInt8(ascii: "\"")]
        for byte in field {
            quoted.append(byte)
            if byte == UInt8(ascii: "\"") { quoted.append(byte) }
        }
        quoted.append(UInt8(ascii: "\""))
        try output.append(quoted)
    }
}

/// Reads a file descriptor to its end and calls `body` with each newline-separated line,
/// without the newline. A last line without a newline is still a line; a final newline does
/// not start an empty one. A line longer than ``maximumLineLength`` is an error, so that
/// input without newlines cannot exhaust memory.
enum KeyLineReader {
    /// The longest key accepted: 16 MiB.
    static let maximumLineLength = 16 << 20

    static func forEachLine(
        fileDescriptor: Int32, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var lineNumber = 0
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fileDescriptor, $0.baseAddress!, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw RuntimeFailure("cannot read standard input: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            let scanFrom = pending.count  // what is already pending has no newline
            pending.append(contentsOf: chunk[0..<count])
            var lineStart = 0
            var lines = 0
            try pending.withUnsafeBytes { bytes in
                var index = scanFrom
                while index < bytes.count {
                    if bytes[index] == UInt8(ascii: "\n") {
                        try body(UnsafeRawBufferPointer(rebasing: bytes[lineStart..<index]))
                        lineStart = index + 1
                        lines += 1
                    }
                    index += 1
                }
            }
            pending.removeFirst(lineStart)
            lineNumber += lines
            if pending.count > maximumLineLength {
                throw RuntimeFailure(
                    "key on line \(lineNumber + 1) of standard input is longer than \(maximumLineLength >> 20) MiB")
            }
        }
        if !pending.isEmpty {
            try pending.withUnsafeBytes { try body($0) }
        }
    }
}
