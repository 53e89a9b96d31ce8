import Foundation

/// A throw-away certificate authority and a server certificate it signed for `127.0.0.1`
/// and `localhost`, made with the `openssl` command, for TLS tests.
public struct TestCertificates: Sendable {
    public let directory: URL
    public var caCertificate: String { directory.appendingPathComponent("ca.crt").path }
    public var serverCertificate: String { directory.appendingPathComponent("server.crt").path }
    public var serverKey: String { directory.appendingPathComponent("server.key").path }

    /// Makes a fresh CA and server certificate in a new temporary directory.
    ///
    /// - Throws: when `openssl` is missing or fails (scripts/test installs it).
    public static func make() throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let openssl = URL(fileURLWithPath: "/usr/bin/openssl")
        guard FileManager.default.isExecutableFile(atPath: openssl.path) else {
            throw RedisServerError("openssl is not installed: run scripts/test, or apt-get install openssl")
        }
        let path = { (name: String) in directory.appendingPathComponent(name).path }
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(
            toFile: path("san.ext"), atomically: true, encoding: .utf8)
        let steps: [[String]] = [
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("ca.key"), "-out", path("ca.crt"),
                "-days", "2", "-subj", "/CN=Shoal Test CA",
            ],
            [
                "req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("server.key"), "-out", path("server.csr"),
                "-subj", "/CN=localhost",
            ],
            [
                "x509", "-req", "-in", path("server.csr"), "-CA", path("ca.crt"), "-CAkey", path("ca.key"),
                "-CAcreateserial", "-out", path("server.crt"), "-days", "2", "-extfile", path("san.ext"),
            ],
        ]
        for step in steps {
            let result = try ChildProcess.run(openssl, step)
            guard result.status == 0 else {
                throw RedisServerError("openssl \(step[0]) failed: \(result.stderr)")
            }
        }
        return TestCertificates(directory: directory)
    }

    /// Issues a certificate signed by this CA for the DNS names `hosts`, written as
    /// `name.pem` and `name.key` in `directory`.
    public func issue(_ name: String, hosts: [String], into directory: URL) throws {
        let openssl = URL(fileURLWithPath: "/usr/bin/openssl")
        let path = { (file: String) in directory.appendingPathComponent(file).path }
        let scratch = { (file: String) in self.directory.appendingPathComponent("\(name)-\(file)").path }
        let names = hosts.map { "DNS:\($0)" }.joined(separator: ",")
        try "subjectAltName=\(names)\n".write(toFile: scratch("san.ext"), atomically: true, encoding: .utf8)
        let steps: [[String]] = [
            [
                "req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("\(name).key"), "-out", scratch("csr"),
                "-subj", "/CN=\(hosts.first ?? name)",
            ],
            [
                "x509", "-req", "-in", scratch("csr"), "-CA", caCertificate, "-CAkey",
                self.directory.appendingPathComponent("ca.key").path, "-CAcreateserial", "-out", path("\(name).pem"),
                "-days", "2", "-extfile", scratch("san.ext"),
            ],
        ]
        for step in steps {
            let result = try ChildProcess.run(openssl, step)
            guard result.status == 0 else {
                throw RedisServerError("openssl \(step[0]) failed: \(result.stderr)")
            }
        }
    }

    /// Issues a client certificate signed by this CA, named `name` (its common name), written
    /// as `name.pem` and `name.key` in `directory`. With `expired`, it was valid for one day
    /// in 2020 only.
    public func issueClient(_ name: String, expired: Bool = false, into directory: URL) throws {
        let openssl = URL(fileURLWithPath: "/usr/bin/openssl")
        let path = { (file: String) in directory.appendingPathComponent(file).path }
        let scratch = { (file: String) in self.directory.appendingPathComponent("\(name)-\(file)").path }
        var steps: [[String]] = [
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("\(name).key"), "-out", scratch("csr"), "-subj", "/CN=\(name)"]
        ]
        if expired {
            // `openssl x509` takes no date in the past; `openssl ca` does, with a database.
            let database = self.directory.appendingPathComponent("\(name)-db")
            try FileManager.default.createDirectory(at: database, withIntermediateDirectories: true)
            try "".write(toFile: database.appendingPathComponent("index.txt").path, atomically: true, encoding: .utf8)
            try "01\n".write(toFile: database.appendingPathComponent("serial").path, atomically: true, encoding: .utf8)
            let config = """
                [ ca ]
                default_ca = test
                [ test ]
                database = \(database.path)/index.txt
                new_certs_dir = \(database.path)
                serial = \(database.path)/serial
                default_md = sha256
                policy = any
                [ any ]
                commonName = supplied
                """
            try config.write(toFile: scratch("ca.cnf"), atomically: true, encoding: .utf8)
            steps.append([
                "ca", "-batch", "-config", scratch("ca.cnf"), "-cert", caCertificate, "-keyfile",
                self.directory.appendingPathComponent("ca.key").path, "-in", scratch("csr"), "-out", path("\(name).pem"),
                "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-notext",
            ])
        } else {
            steps.append([
                "x509", "-req", "-in", scratch("csr"), "-CA", caCertificate, "-CAkey",
                self.directory.appendingPathComponent("ca.key").path, "-CAcreateserial", "-out", path("\(name).pem"),
                "-days", "2",
            ])
        }
        for step in steps {
            let result = try ChildProcess.run(openssl, step)
            guard result.status == 0 else {
                throw RedisServerError("openssl \(step[0]) failed: \(result.stderr)")
            }
        }
    }
}
