// A shell command: its name (one or two words), its grammar, an example, and what it runs.

struct Command: Sendable {
    /// `conv create`, `append`, `.check`, ...
    let name: String
    /// The grammar after the name, e.g. `ID SENDER TEXT [--role R]`.
    let arguments: String
    let summary: String
    let example: String
    let options: Set<String>
    let switches: Set<String>
    let run: @Sendable (Shell, Arguments) throws -> ResultSet

    init(
        _ name: String, _ arguments: String, _ summary: String, example: String, options: Set<String> = [],
        switches: Set<String> = [], run: @escaping @Sendable (Shell, Arguments) throws -> ResultSet
    ) {
        self.name = name
        self.arguments = arguments
        self.summary = summary
        self.example = example
        self.options = options
        self.switches = switches
        self.run = run
    }

    var usage: String { arguments.isEmpty ? name : name + " " + arguments }
}
