// Errors of the shell itself; errors of the store arrive as they are.

/// A command the shell could not run as written.
public enum ShellError: Error, Equatable, CustomStringConvertible {
    /// Bad arguments; the text says what was expected.
    case usage(String)
    /// No such command.
    case unknownCommand(String)

    public var description: String {
        switch self {
        case .usage(let text): return text
        case .unknownCommand(let name): return "unknown command \"\(name)\" (try .help)"
        }
    }
}
