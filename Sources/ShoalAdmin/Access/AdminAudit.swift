import Logging

/// The admin API's audit records: each registration, deregistration and lock grant made
/// through it, with the name of the token that made it and the client's address, logged at
/// `notice` under the label `shoal.audit`. Renewals and health verdicts are not recorded.
public enum AdminAudit {
    static let logger = Logger(label: "shoal.audit")

    /// Records `action` on `subject` by the request's caller.
    static func record(_ action: String, _ subject: String, _ context: some AdminCallerContext) {
        logger.notice(
            "\(action) \(subject)",
            metadata: [
                "token": .string(context.caller?.name ?? "none"), "client": .string(context.clientAddress),
            ])
    }
}
