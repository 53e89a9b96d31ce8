import Foundation
import Testing

@Suite("shoal ring place")
struct RingPlaceTests {
    static func servers(_ set: String) throws -> [String] {
        let sets = try String(contentsOf: ShoalProcess.vectors.appendingPathComponent("sets.txt"), encoding: .utf8)
        let line = try #require(sets.split(separator: "\n").first { $0.hasPrefix("\(set):") })
        return line.split(separator: ":", maxSplits: 1)[1].split(separator: " ").map(String.init)
    }

    @Test(
        "prints exactly libmemcached's and libketama's placement of the 10k reference keys",
        arguments: [
            ("ketama", "ketama", "weighted-five"), ("ketama", "ketama", "ten-mixed-ports"),
            ("ketama-classic", "ketama-classic", "float-edge-three"),
        ])
    func matchesReferenceCSV(algorithm: String, directory: String, set: String) async throws {
        let keys = try Data(contentsOf: ShoalProcess.vectors.appendingPathComponent("keys.txt"))
        let expected = try String(
            contentsOf: ShoalProcess.vectors.appendingPathComponent("\(directory)/\(set).csv"), encoding: .utf8)
        let nodes = try Self.servers(set).flatMap { ["--node", $0] }
        let result = try await ShoalProcess.run(["ring", "place", "--algorithm", algorithm] + nodes, stdin: keys)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output == expected)
    }

    @Test("quotes keys that need it, keeps empty and non-UTF-8 keys, and names nodes as given")
    func csvShapes() async throws {
        let input =
            Data("plain\n\nwith,comma\nwith\"quote\nключ 🙂\n".utf8) + Data([0xFF, 0xFE, 0x0A])
            + Data("last-without-newline".utf8)
        let result = try await ShoalProcess.run(
            ["ring", "place", "--algorithm", "ring64", "--node", "Cache-A:0011211=2", "--node", "[::1]:6379"],
            stdin: input)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "key,node")
        #expect(lines.count == 9)  // header, 7 keys, and the empty string after the final newline
        #expect(lines[1].hasPrefix("plain,"))
        #expect(lines[2].hasPrefix(","))
        #expect(lines[3].hasPrefix("\"with,comma\","))
        #expect(lines[4].hasPrefix("\"with\"\"quote\","))
        #expect(lines[7].hasPrefix("last-without-newline,"))
        for line in lines.dropFirst().dropLast() {
            #expect(line.hasSuffix(",Cache-A:0011211") || line.hasSuffix(",[::1]:6379"), "\(line)")
        }
    }

    @Test("a key longer than 16 MiB is refused with its line number and exit code 1")
    func overlongKey() async throws {
        let input = Data("first\n".utf8) + Data(repeating: UInt8(ascii: "x"), count: (16 << 20) + 70_000)
        let result = try await ShoalProcess.run(["ring", "place", "--node", "a:1"], stdin: input)
        #expect(result.status == 1)
        #expect(result.stderr == "shoal: key on line 2 of standard input is longer than 16 MiB\n")
    }

    @Test("no input gives just the header")
    func emptyInput() async throws {
        let result = try await ShoalProcess.run(["ring", "place", "--node", "a:1"])
        #expect(result.status == 0)
        #expect(result.output == "key,node\n")
    }
}
