import Foundation
import ShoalCore
import ShoalTesting
import Testing

@testable import shoal

#if canImport(Glibc)
    import Glibc
#endif

/// A datagram socket bound where systemd's notification socket would be, read as systemd
/// reads it.
final class NotifySocket {
    let descriptor: Int32
    /// The address to give in `NOTIFY_SOCKET`.
    let address: String

    /// A socket at a file in `directory`, or in the abstract namespace when `abstract`.
    init(in directory: URL, abstract: Bool = false) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        address =
            abstract
            ? "@shoal-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            : directory.appendingPathComponent("notify").path
        var name = sockaddr_un()
        name.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(address.utf8)
        if abstract { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &name.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count)
        let bound = withUnsafePointer(to: &name) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard descriptor >= 0, bound == 0 else { throw RedisServerError("cannot bind \(address): errno \(errno)") }
    }

    deinit { close(descriptor) }

    /// The next datagram, or `nil` when none comes within `seconds`.
    func receive(within seconds: Int32 = 15) -> String? {
        var ready = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&ready, 1, seconds * 1000) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
    }
}

@Suite("shoal serve tells systemd when it is ready, reloading and stopping (Type=notify)", .serialized)
struct SystemdNotifyTests {
    @Test("READY=1 once both listeners are up, RELOADING=1 and READY=1 around SIGHUP, STOPPING=1 at SIGTERM")
    func lifecycle() async throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let socket = try NotifySocket(in: directory)
        let serve = try await ServeProcess([], environment: ["NOTIFY_SOCKET": socket.address])
        defer { serve.stop() }
        let status =
            "STATUS=gateway on http://127.0.0.1:\(serve.gatewayPort), registry API on http://127.0.0.1:\(serve.port)"
        #expect(socket.receive() == "READY=1\n\(status)")
        #expect(try await serve.request("GET", "/healthz").status == 200)

        serve.shoal.process.signal(SIGHUP)
        let reloading = try #require(socket.receive())
        #expect(reloading.hasPrefix("RELOADING=1\nMONOTONIC_USEC="), "\(reloading)")
        let microseconds = reloading.split(separator: "\n")[1].dropFirst("MONOTONIC_USEC=".count)
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let age = Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000 - (Int64(microseconds) ?? 0)
        #expect((0..<15_000_000).contains(age), "MONOTONIC_USEC is CLOCK_MONOTONIC's now: \(reloading)")
        #expect(socket.receive() == "READY=1\n\(status)", "ready again, as before")

        serve.shoal.process.signal(SIGTERM)
        #expect(socket.receive() == "STOPPING=1\nSTATUS=draining")
        serve.shoal.process.waitForExit(seconds: 10)
        #expect(serve.shoal.process.exitCode == 0)
    }

    @Test("an abstract socket (@name) gets the datagram too")
    func abstractSocket() throws {
        let socket = try NotifySocket(in: FileManager.default.temporaryDirectory, abstract: true)
        #expect(SystemdNotifier.send("READY=1", to: socket.address) == nil)
        #expect(socket.receive(within: 5) == "READY=1")
        #expect(SystemdNotifier.send("READY=1", to: "@shoal-nobody-listens-\(getpid())") == ECONNREFUSED)
    }

    @Test("a reload before the first readiness tells nothing, so READY=1 never comes too soon")
    func reloadBeforeReady() throws {
        let socket = try NotifySocket(in: FileManager.default.temporaryDirectory, abstract: true)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.address])
        notifier.reloading(at: SystemClock().now())
        notifier.reloaded()
        #expect(socket.receive(within: 1) == nil)
        notifier.ready(status: "up")
        #expect(socket.receive(within: 5) == "READY=1\nSTATUS=up")
        notifier.reloading(at: MonotonicInstant(nanoseconds: 5_000_000))
        #expect(socket.receive(within: 5) == "RELOADING=1\nMONOTONIC_USEC=5000\nSTATUS=reloading")
        notifier.reloaded()
        #expect(socket.receive(within: 5) == "READY=1\nSTATUS=up")
    }

    @Test("a NOTIFY_SOCKET that is no socket path is said and ignored; without one nothing is sent")
    func badSocket() async throws {
        let serve = try await ServeProcess([], environment: ["NOTIFY_SOCKET": "relative/notify"])
        defer { serve.stop() }
        #expect(serve.shoal.stderr.contains("NOTIFY_SOCKET 'relative/notify' is not a socket path"))
        #expect(try await serve.request("GET", "/healthz").status == 200)
        #expect(SystemdNotifier(environment: [:]).socket == nil)
        #expect(SystemdNotification.ready(status: "a\nb").datagram == "READY=1\nSTATUS=a b")
    }
}
