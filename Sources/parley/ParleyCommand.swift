// `parley`: the command-line tool. The REPL and its commands arrive with the REPL work; for now
// the tool reports its version and usage.

import ArgumentParser
import Parley

@main
struct ParleyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parley",
        abstract: "Open and query a ParleyDB conversation database.",
        discussion: """
            ParleyDB keeps conversations, messages, threads and conversation state in one file.
            The interactive shell and its commands are not part of this version yet.
            """,
        version: ParleyVersion.string
    )

    @Argument(help: "The database file to open.")
    var file: String?

    mutating func run() throws {
        guard let file else {
            print(Self.helpMessage())
            return
        }
        throw ValidationError("the interactive shell is not available in version \(ParleyVersion.string); cannot open \(file)")
    }
}
