import Foundation
import GRPCCore
import ShoalCore
import Synchronization

/// What a watch's handler wants next.
public enum EtcdWatchStep: Sendable {
    /// Go on watching.
    case `continue`
    /// End the watch: ``EtcdClient/watch(prefix:exactKey:from:_:)`` returns.
    case stop
}

extension EtcdClient {
    /// Watches every key that starts with `prefix` (or, with `exactKey`, only that key) from
    /// `revision` on, and calls `handle` with each batch of changes, in revision order, and the
    /// revision the batch ends at; until `handle` returns ``EtcdWatchStep/stop`` or the task is
    /// cancelled.
    ///
    /// A watch survives its member: when the stream breaks (the member died, lost its leader
    /// or was cut off), it moves to the next member and resumes from the revision after the
    /// last change it passed on, so nothing is missed or repeated.
    ///
    /// - Throws: ``EtcdError`` with ``EtcdError/Code-swift.struct/compacted`` (and the
    ///   oldest revision kept) when etcd no longer has the history from the revision the watch
    ///   needs: list again, then watch from the list's revision + 1. What `handle` throws.
    public func watch(
        prefix: String, exactKey: Bool = false, from revision: Int64,
        _ handle: @escaping @Sendable ([EtcdEvent], Int64) async throws -> EtcdWatchStep
    ) async throws {
        let key = Array(prefix.utf8)
        var create = Etcdserverpb_WatchCreateRequest()
        create.key = Data(key)
        if !exactKey { create.rangeEnd = Data(prefixRangeEnd(key)) }
        create.progressNotify = true
        var next = revision
        var failures = 0
        while true {
            try Task.checkCancellation()
            create.startRevision = next
            let index = currentMember
            let progress = WatchProgress(next: next)
            if try await watchTry(create, on: index, progress: progress, what: prefix, handle) { return }
            if progress.next > next { failures = 0 }
            next = progress.next
            moveOn(from: index)
            failures += 1
            if failures % members.count == 0 {
                // After each round over every member: a pause, short after the first.
                let pause = EtcdFailover.pause(afterRound: failures / members.count + 1)
                try await clock.sleep(until: clock.now() + pause)
            }
        }
    }

    /// Returns `true` once `key`, which was made at `createRevision` and read at `revision`, is
    /// deleted, or is found gone; `false` when the watch's stream breaks first (the caller
    /// reads again).
    ///
    /// The watch starts at etcd's current revision, not at `revision` + 1: etcd then notifies
    /// it as changes are made, where a watch that starts in the past (any write since `revision`
    /// puts it there) waits for etcd's catch-up pass, every 100 ms. A change between the read
    /// and the watch's start is caught by reading the key again, when the watch started later
    /// than `revision`.
    @discardableResult
    package func waitForDeletion(of key: String, createRevision: Int64, readAt revision: Int64) async throws -> Bool {
        var create = Etcdserverpb_WatchCreateRequest()
        create.key = Data(key.utf8)
        create.filters = [.noput]
        let index = currentMember
        let deleted = try await watchTry(
            create, on: index, progress: WatchProgress(next: 0), what: key,
            onCreated: { startedAt in
                guard startedAt > revision else { return .continue }  // nothing written since the read
                return try await self.get(key)?.createRevision == createRevision ? .continue : .stop
            },
            { events, _ in events.contains { $0.kind == .delete } ? .stop : .continue })
        if deleted { return true }
        // The caller reads again, from the next member, after a pause that keeps a member
        // refusing every watch from being asked in a tight loop.
        moveOn(from: index)
        try await clock.sleep(until: clock.now() + .milliseconds(50))
        return false
    }

    /// One watch stream on member `index`, authenticated first: `true` when a handler stopped
    /// it, `false` when the stream broke (its member died, lost its leader, was cut off), which
    /// another member may serve; a token etcd no longer takes is dropped then. Throws what
    /// another member would answer too (compacted, refused), what a handler threw, and
    /// cancellation.
    private func watchTry(
        _ create: Etcdserverpb_WatchCreateRequest, on index: Int, progress: WatchProgress, what: String,
        onCreated: (@Sendable (Int64) async throws -> EtcdWatchStep)? = nil,
        _ handle: @escaping @Sendable ([EtcdEvent], Int64) async throws -> EtcdWatchStep
    ) async throws -> Bool {
        do {
            try await authenticateIfNeeded()
            try await watchOnce(create, on: index, progress: progress, onCreated: onCreated, handle)
            return true
        } catch let error as EtcdError where error.code != .unavailable {
            throw error
        } catch let error as WatchHandlerError {
            throw error.underlying
        } catch let error as RuntimeError where error.code == .clientIsStopped {
            throw EtcdError(.unavailable, "the etcd client was shut down; the watch of \(what) ended")
        } catch {
            if Task.isCancelled { throw CancellationError() }
            if let error = error as? RPCError,
                EtcdFailover.classify(error.code, message: error.message) == .reauthenticate
            {
                dropToken()
            }
            return false
        }
    }

    /// One watch stream on member `index`; returns when `handle` (or `onCreated`, given the
    /// revision the watch started at) stops it, throws when it breaks.
    private func watchOnce(
        _ create: Etcdserverpb_WatchCreateRequest, on index: Int, progress: WatchProgress,
        onCreated: (@Sendable (Int64) async throws -> EtcdWatchStep)? = nil,
        _ handle: @escaping @Sendable ([EtcdEvent], Int64) async throws -> EtcdWatchStep
    ) async throws {
        var request = Etcdserverpb_WatchRequest()
        request.createRequest = create
        let (ended, endedContinuation) = AsyncStream<Void>.makeStream()
        try await Etcdserverpb_Watch.Client(wrapping: members[index]).watch(
            metadata: metadata(),
            requestProducer: { [request] writer in
                try await writer.write(request)
                // The request stream stays open as long as the watch: etcd ends a watch whose
                // client closed its side.
                for await _ in ended {}
            },
            onResponse: { response in
                defer { endedContinuation.finish() }
                for try await message in response.messages {
                    if message.compactRevision > 0 {
                        throw EtcdError(
                            .compacted,
                            "etcd compacted the history the watch needs (from revision \(progress.next); the oldest kept is \(message.compactRevision))",
                            compactRevision: message.compactRevision)
                    }
                    if message.canceled {
                        // Refused for a reason another member would give too (permissions),
                        // or cancelled by this member (it lost its leader): try elsewhere.
                        let reason = message.cancelReason
                        if reason.contains("invalid auth token") || reason.contains("auth store is old") {
                            // The token lapsed (or the users changed): watch again with a new one.
                            self.dropToken()
                            throw EtcdError(.unavailable, "etcd cancelled the watch: \(reason)")
                        }
                        if reason.contains("permission denied") || reason.contains("auth") {
                            throw EtcdError(
                                .unauthenticated,
                                "etcd refused the watch of '\(String(decoding: create.key, as: UTF8.self))': \(reason); check the user's roles"
                            )
                        }
                        throw EtcdError(.unavailable, "etcd cancelled the watch: \(reason)")
                    }
                    if message.created, let onCreated {
                        let step: EtcdWatchStep
                        do {
                            step = try await onCreated(message.header.revision)
                        } catch {
                            throw WatchHandlerError(underlying: error)
                        }
                        if case .stop = step { return }
                    }
                    guard !message.events.isEmpty else {
                        // Created, or a progress notice: nothing before the header's revision is left.
                        if !message.created { progress.next = max(progress.next, message.header.revision + 1) }
                        continue
                    }
                    // A member that resumed a watch may send events from before where it was
                    // asked to start (etcd#20221): passed on once, never twice.
                    let fresh = message.events.filter { $0.kv.modRevision >= progress.next }
                    guard let last = fresh.last?.kv.modRevision else { continue }
                    let events = fresh.map { event in
                        EtcdEvent(kind: event.type == .delete ? .delete : .put, keyValue: EtcdKeyValue(event.kv))
                    }
                    progress.next = max(progress.next, last + 1)
                    let step: EtcdWatchStep
                    do {
                        step = try await handle(events, last)
                    } catch {
                        throw WatchHandlerError(underlying: error)
                    }
                    if case .stop = step { return }
                }
                throw EtcdError(.unavailable, "the watch stream ended")
            })
    }
}

/// The revision a watch resumes from, advanced as batches are passed on.
private final class WatchProgress: Sendable {
    private let value: Mutex<Int64>
    init(next: Int64) { value = Mutex(next) }
    var next: Int64 {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

/// What a watch's handler threw, kept apart from the stream's own failures.
private struct WatchHandlerError: Error {
    let underlying: any Error
}
