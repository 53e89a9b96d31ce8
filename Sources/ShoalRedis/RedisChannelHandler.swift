import NIOCore
import NIOSSL
import ShoalRESP

/// A command on its way to the server: its bytes, the promise of its reply, its deadline.
///
/// `reply` is `nil` for the commands whose answers come as RESP3 push frames (SUBSCRIBE and
/// UNSUBSCRIBE): they have no place in the line of replies.
struct OutboundCommand: Sendable {
    let bytes: ByteBuffer
    let reply: EventLoopPromise<RESPValue>?
    let deadline: NIODeadline
}

/// Matches replies to commands in the order sent (RESP replies come back in order), and
/// fails every waiting command when the connection ends.
///
/// The handler alone completes the reply promises of the commands it has taken: it succeeds
/// a command's write promise as soon as it owns the command, so a sender fails a reply
/// itself only when the handler never got the command (the pipeline was already gone).
///
/// A command's deadline cannot withdraw it from the server, so when one passes the
/// connection is closed: commands past their deadline fail with a time-out, the others
/// with a closed connection.
///
/// RESP3 push frames (pub/sub messages and subscription confirmations) are not replies:
/// they go to `onPush`, on the event loop, in the order they arrive.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = OutboundCommand
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        let reply: EventLoopPromise<RESPValue>
        let deadline: NIODeadline
    }

    private let address: String
    private let onPush: (@Sendable (RESPValue) -> Void)?
    private var pending = CircularBuffer<Pending>()
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    /// Set once the connection has ended; commands that arrive later fail with it.
    private var ended: RedisError?

    private let connectionEnd: ConnectionEnd

    init(address: String, end: ConnectionEnd, onPush: (@Sendable (RESPValue) -> Void)?) {
        self.address = address
        self.connectionEnd = end
        self.onPush = onPush
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let command = unwrapOutboundIn(data)
        promise?.succeed(())  // the command is this handler's now
        if let ended {
            command.reply?.fail(ended)
            return
        }
        if let reply = command.reply {
            pending.append(Pending(reply: reply, deadline: command.deadline))
            armTimer(context: context, for: command.deadline)
        }
        context.write(wrapOutboundOut(command.bytes), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = unwrapInboundIn(data)
        if case .push = value {  // out-of-band data is not the reply to a command
            onPush?(value)
            return
        }
        guard let head = pending.popFirst() else {
            end(context: context, RedisError(.protocolViolation, "\(address) sent a reply when no command was waiting"))
            return
        }
        head.reply.succeed(value)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let error = error as? RESPProtocolError {
            end(context: context, RedisError(.protocolViolation, "\(address) sent bytes that are not RESP: \(error)"))
        } else if error is NIOSSLError || error is BoringSSLError {
            end(context: context, RedisError(.tlsFailed, "TLS with \(address) failed: \(error)"))
        } else {
            end(context: context, RedisError(.connectionClosed, "the connection to \(address) failed: \(error)"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        end(context: context, RedisError(.connectionClosed, "the connection to \(address) closed"))
        context.fireChannelInactive()
    }

    /// Fails every waiting command and closes the connection.
    private func end(context: ChannelHandlerContext, _ error: RedisError, expiredAt now: NIODeadline? = nil) {
        if ended == nil {
            ended = error
            connectionEnd.record(error)
        }
        timer?.cancel()
        timer = nil
        timerDeadline = nil
        while let command = pending.popFirst() {
            if let now, command.deadline <= now {
                command.reply.fail(RedisError(.timeout, "no reply from \(address) within the command's deadline"))
            } else {
                command.reply.fail(error)
            }
        }
        context.close(promise: nil)
    }

    /// Keeps one timer, at or before the earliest deadline among waiting commands. A reply
    /// does not touch it: when it fires with nothing overdue it is set again for the
    /// earliest deadline left, so the usual command costs no timer work at all.
    private func armTimer(context: ChannelHandlerContext, for deadline: NIODeadline) {
        if let timerDeadline, timerDeadline <= deadline { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            self.timer = nil
            self.timerDeadline = nil
            let now = NIODeadline.now()
            guard let earliest = self.pending.lazy.map(\.deadline).min() else { return }
            if earliest <= now {
                self.end(
                    context: context,
                    RedisError(
                        .connectionClosed, "the connection to \(self.address) closed: another command timed out"),
                    expiredAt: now)
            } else {
                self.armTimer(context: context, for: earliest)
            }
        }
    }
}
