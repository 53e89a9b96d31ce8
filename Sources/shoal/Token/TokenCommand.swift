import ArgumentParser
import Foundation
import ShoalAdmin

/// `shoal token`: tokens for the admin API's tokens file, which holds their SHA-256 and never
/// the tokens themselves.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Make admin API tokens, and the hashes a tokens file holds.",
        discussion: """
            A tokens file (shoal serve --tokens FILE, or tokens_file: in the settings) gives \
            each token a name and its rights:

              tokens:
                - name: payments-deployer
                  sha256: <what shoal token hash prints>
                  rights: [read, "register:payments*", "lock:payments-*"]

            Rights: read (the registry), register:GLOB (register, renew, set the health of \
            and deregister instances of matching services), lock:GLOB (take, renew, release \
            and list matching locks), status (/v1/gateway and /metrics), all. GLOB takes * and \
            ?. A request outside a token's rights gets 403, naming the right it lacks. SIGHUP \
            reloads the file.
            """,
        subcommands: [New.self, Hash.self]
    )

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a fresh random token (32 bytes, base64url) and its SHA-256 for the tokens file.")

        func run() throws {
            var generator = SystemRandomNumberGenerator()
            let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let token = Data(bytes).base64EncodedString()
                .replacing("+", with: "-").replacing("/", with: "_").replacing("=", with: "")
            print("token:  \(token)")
            print("sha256: \(AdminTokens.hash(token))")
        }
    }

    struct Hash: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read a token on standard input and print its SHA-256 for the tokens file.",
            discussion: "A line break at the end of the input is not part of the token.")

        func run() throws {
            let input = FileHandle.standardInput.readDataToEndOfFile()
            var token = String(decoding: input, as: UTF8.self)
            while let last = token.unicodeScalars.last, last == "\n" || last == "\r" { token.unicodeScalars.removeLast() }
            guard !token.isEmpty else { throw UsageError("no token on standard input: pipe one in, such as echo -n TOKEN | shoal token hash") }
            print(AdminTokens.hash(token))
        }
    }
}
