import HummingbirdCore
import Logging
import NIOCore
import NIOSSL

/// A Hummingbird child channel behind TLS whose context is read for each new connection from
/// ``AdminTLS``, so that a SIGHUP reload reaches the next connection. (HummingbirdTLS's own
/// channel keeps the context it was made with.)
struct AdminTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let tls: AdminTLS

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.current))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension AdminTLSChannel where Base == HTTP1Channel {
    /// HTTP/1.1 behind the admin listener's reloadable TLS, as an `Application` takes it.
    static func server(_ tls: AdminTLS) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            AdminTLSChannel(base: HTTP1Channel(responder: responder), tls: tls)
        }
    }
}
