import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// An OpenTelemetry collector's OTLP/HTTP traces endpoint, in process on a real socket: it
/// keeps each `POST /v1/traces` (content type and body) and answers 200 with an empty
/// `ExportTraceServiceResponse`.
final class OTLPCollector: Sendable {
    struct Export: Sendable {
        let contentType: String
        let body: [UInt8]
    }

    private let received = Mutex<[Export]>([])
    private let bound = Mutex<Int?>(nil)
    private let running = Mutex<Task<Void, any Error>?>(nil)
    private let group = Mutex<ServiceGroup?>(nil)

    /// What arrived so far.
    var exports: [Export] { received.withLock { $0 } }
    /// The port it listens on, once it does.
    var port: Int? { bound.withLock { $0 } }

    /// Starts listening on a free loopback port.
    func start() async throws {
        let router = Router()
        router.post("/v1/traces") { [self] request, _ -> Response in
            let body = try await request.body.collect(upTo: 16 << 20)
            self.received.withLock {
                $0.append(Export(contentType: request.headers[.contentType] ?? "", body: Array(buffer: body)))
            }
            return Response(status: .ok, headers: [.contentType: "application/x-protobuf"])
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { [self] channel in self.bound.withLock { $0 = channel.localAddress?.port } },
            logger: Logger(label: "collector"))
        let serviceGroup = ServiceGroup(
            services: [app], gracefulShutdownSignals: [], logger: Logger(label: "collector"))
        group.withLock { $0 = serviceGroup }
        running.withLock { $0 = Task { try await serviceGroup.run() } }
        let deadline = ContinuousClock.now + .seconds(60)
        while port == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        guard port != nil else { throw CollectorError("the collector did not start") }
    }

    func stop() async {
        await group.withLock { $0 }?.triggerGracefulShutdown()
        _ = try? await running.withLock { $0 }?.value
    }
}

struct CollectorError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Protocol Buffers' wire format, read just far enough for tests: each field of a message as
/// its number with a varint or its bytes (the only wire types OTLP's trace messages use, with
/// the fixed 64-bit times, which are skipped).
struct ProtobufFields {
    enum Value {
        case varint(UInt64)
        case bytes([UInt8])
        case fixed
    }

    let fields: [(number: Int, value: Value)]

    init(_ bytes: [UInt8]) throws {
        var fields: [(Int, Value)] = []
        var index = 0
        func varint() throws -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard index < bytes.count, shift < 64 else { throw CollectorError("a varint runs past the end") }
                let byte = bytes[index]
                index += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
        }
        while index < bytes.count {
            let key = try varint()
            let number = Int(key >> 3)
            switch key & 7 {
            case 0: fields.append((number, .varint(try varint())))
            case 1, 5:
                index += key & 7 == 1 ? 8 : 4
                fields.append((number, .fixed))
            case 2:
                let length = Int(try varint())
                guard length >= 0, index + length <= bytes.count else {
                    throw CollectorError("a field runs past the end")
                }
                fields.append((number, .bytes(Array(bytes[index..<index + length]))))
                index += length
            default: throw CollectorError("wire type \(key & 7) is not one OTLP uses")
            }
        }
        guard index == bytes.count else { throw CollectorError("a fixed field runs past the end") }
        self.fields = fields
    }

    /// The bytes of every field numbered `number`.
    func bytes(_ number: Int) -> [[UInt8]] {
        fields.compactMap { field in
            guard field.number == number, case .bytes(let bytes) = field.value else { return nil }
            return bytes
        }
    }

    /// The messages in the fields numbered `number`.
    func messages(_ number: Int) throws -> [ProtobufFields] {
        try bytes(number).map(ProtobufFields.init)
    }

    /// The string in the first field numbered `number`.
    func string(_ number: Int) -> String? {
        bytes(number).first.map { String(decoding: $0, as: UTF8.self) }
    }

    /// The varint in the first field numbered `number`.
    func varint(_ number: Int) -> UInt64? {
        for field in fields where field.number == number {
            if case .varint(let value) = field.value { return value }
        }
        return nil
    }
}
