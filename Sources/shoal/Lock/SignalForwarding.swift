import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// Passes SIGTERM, SIGINT and SIGHUP on to the child instead of dying of them, so the child
/// stops first and the lock is released after it.
struct SignalForwarding {
    private let sources: [any DispatchSourceSignal]

    init(to child: ChildCommand) {
        sources = [SIGTERM, SIGINT, SIGHUP].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { child.signal(number) }
            source.resume()
            return source
        }
    }

    func stop() {
        for source in sources { source.cancel() }
    }
}
