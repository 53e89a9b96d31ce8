/// A command-line argument that cannot be used; `shoal` prints the message and exits with 2.
struct UsageError: Error {
    /// One line naming the argument and what is wrong with it.
    let message: String

    init(_ message: String) {
        self.message = message
    }
}

/// A failure while running (not the user's arguments); `shoal` prints it and exits with 1.
struct RuntimeFailure: Error {
    let message: String

    init(_ message: String) {
        self.message = message
    }
}
