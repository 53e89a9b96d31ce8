/// Calls `body` with the UTF-8 bytes of `string` without copying them when the string is
/// stored contiguously (every native Swift string is); other strings are copied once.
@inlinable
func withUTF8Bytes<R>(of string: String, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    if let result = try string.utf8.withContiguousStorageIfAvailable({ try body(UnsafeRawBufferPointer($0)) }) {
        return result
    }
    return try Array(string.utf8).withUnsafeBytes(body)
}
