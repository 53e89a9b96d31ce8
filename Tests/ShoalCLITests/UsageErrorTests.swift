import Testing

@Suite("Bad arguments: one line naming the argument, exit code 2")
struct UsageErrorTests {
    @Test(
        "ring place",
        arguments: [
            (["--node", "10.0.0.1"], "--node"),
            (["--node", "10.0.0.1:99999"], "--node"),
            (["--node", "a:1", "--node", "a:1=3"], "--node"),
            (["--node", "a:1=0"], "--node"),
            (["--node", "a:1=-1"], "--node"),
            (["--node", "a:1=nan"], "--node"),
            ([], "--node"),
            (["--algorithm", "crc32", "--node", "a:1"], "--algorithm"),
            (["--algorithm", "ketama", "--points", "10", "--node", "a:1"], "--points"),
            (["--points", "0", "--node", "a:1"], "--points"),
            (["--algorithm", "maglev", "--table-size", "100", "--node", "a:1"], "--table-size"),
            (["--table-size", "65537", "--node", "a:1"], "--table-size"),
            (["--algorithm", "jump", "--node", "a:1=2"], "--node"),
            (["--node", "a:1", "--frobnicate"], "--frobnicate"),
        ])
    func place(arguments: [String], named flag: String) async throws {
        let result = try await ShoalProcess.run(["ring", "place"] + arguments)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("shoal: "))
        #expect(result.stderr.contains(flag), "\(result.stderr)")
    }

    @Test(
        "ring analyze",
        arguments: [
            (["--nodes", "1"], "--nodes"),
            (["--keys", "0"], "--keys"),
            (["--bounded-load", "0.5"], "--bounded-load"),
            (["--bounded-load", "1.2", "--algorithm", "jump"], "--bounded-load"),
            (["--algorithm", "maglev", "--nodes", "70000", "--table-size", "65537"], "--table-size"),
            (["--nodes", "ten"], "--nodes"),
        ])
    func analyze(arguments: [String], named flag: String) async throws {
        let result = try await ShoalProcess.run(["ring", "analyze", "--keys", "1000"] + arguments)
        #expect(result.status == 2)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(flag), "\(result.stderr)")
    }

    @Test("help and version exit 0")
    func helpAndVersion() async throws {
        let help = try await ShoalProcess.run(["ring", "place", "--help"])
        #expect(help.status == 0)
        #expect(help.output.contains("--node"))
        let version = try await ShoalProcess.run(["--version"])
        #expect(version.status == 0)
        #expect(!version.output.isEmpty)
    }
}
