extension Unmanaged {
    /// Calls `body` with the instance, without retaining it. Only for instances that another
    /// strong reference is known to keep alive for the duration of the call.
    @inline(__always)
    func withInstance<Result>(_ body: (Instance) -> Result) -> Result {
        _withUnsafeGuaranteedRef(body)
    }
}
