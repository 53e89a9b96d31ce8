/// Why received bytes are not an acceptable HTTP/1 head or body, and the status that says
/// so to a client (400, 431 or 505).
struct HTTPParseError: Error, Equatable, CustomStringConvertible {
    let status: Int
    let message: String

    init(_ message: String, status: Int = 400) {
        self.status = status
        self.message = message
    }

    var description: String { message }
}
