// The `parley` shell: reads a line, runs the command it names, prints the result in the current
// output mode. It never ends on an error: an error is one line on the error output, and the caller
// (script mode) decides whether to stop.

import Glibc
import Parley
import ParleyInterchange

/// A session of the `parley` shell on one open database.
public final class Shell {
    public internal(set) var database: Database
    public let path: String
    let options: Database.Options
    /// How results are printed.
    public var mode: OutputMode = .table
    /// Print each command's time after it.
    public var timer = false
    /// Script mode: stop at the first error (`.bail on`, the default).
    public var bail = true
    /// Terminal width for table mode (nil: do not cut).
    public var width: Int?
    /// Set by `.quit`.
    public internal(set) var wantsToQuit = false
    /// Where results go.
    public var output: (String) -> Void
    /// Where errors, progress and notes go.
    public var errorOutput: (String) -> Void
    /// True when progress bars may be drawn (standard error is a terminal).
    public var showsProgress = false
    var clock: () -> Timestamp

    /// Opens (or creates) the database at `path`.
    public init(
        path: String, options: Database.Options = Database.Options(), output: @escaping (String) -> Void,
        errorOutput: @escaping (String) -> Void
    ) throws {
        self.path = path
        self.options = options
        database = try Database.open(path: path, options: options)
        self.output = output
        self.errorOutput = errorOutput
        let clock = options.clock
        self.clock = { clock() }
    }

    /// Closes the database (checkpointing it, leaving one file).
    public func close() throws { try database.close() }

    static let allCommands: [Command] = dataCommands + messageCommands + dotCommands

    /// Every command name, for completion and `.help`.
    public static var commandNames: [String] { allCommands.map(\.name) }

    /// Runs one line. Returns false when it failed (the error has been printed).
    @discardableResult
    public func execute(_ line: String) -> Bool {
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        if trimmed.isEmpty || trimmed.hasPrefix("#") { return true }
        do {
            return execute(words: try Tokenizer.words(String(trimmed)))
        } catch {
            errorOutput("error: \(Self.describe(error))\n")
            return false
        }
    }

    /// Runs one command given as words (the shell's one-shot mode: no quoting to undo).
    @discardableResult
    public func execute(words: [String]) -> Bool {
        let started = monotonicNow()
        do {
            let result = try run(words: words)
            output(OutputFormatter.render(result, mode: mode, width: mode == .table ? width : nil))
            if timer { errorOutput("time: \(milliseconds(monotonicNow() - started)) ms\n") }
            return true
        } catch {
            errorOutput("error: \(Self.describe(error))\n")
            return false
        }
    }

    /// Words for tab completion: command names (word by word) and the conversation ids.
    public func completionWords() -> [String] {
        var words = Set(Self.allCommands.flatMap { $0.name.split(separator: " ").map(String.init) })
        if let conversations = try? database.read({ try $0.conversations(limit: 2000) }) {
            for conversation in conversations { words.insert(conversation.id.description) }
        }
        return Array(words)
    }

    /// The text of an error as the shell prints it.
    public static func describeError(_ error: Error) -> String { describe(error) }

    static func describe(_ error: Error) -> String {
        switch error {
        case let error as ParleyError: return error.description
        case let error as ShellError: return error.description
        case let error as InterchangeError: return error.description
        case let error as EngineError: return error.description
        default: return "\(error)"
        }
    }

    func run(_ line: String) throws -> ResultSet { try run(words: try Tokenizer.words(line)) }

    func run(words: [String]) throws -> ResultSet {
        guard let first = words.first else { return .empty }
        // Two-word commands (`conv create`) first, then one-word ones.
        if words.count >= 2, let command = Self.allCommands.first(where: { $0.name == first + " " + words[1] }) {
            return try command.run(self, try Arguments(Array(words.dropFirst(2)), options: command.options, switches: command.switches, usage: command.usage))
        }
        if let command = Self.allCommands.first(where: { $0.name == first }) {
            return try command.run(self, try Arguments(Array(words.dropFirst()), options: command.options, switches: command.switches, usage: command.usage))
        }
        if Self.allCommands.contains(where: { $0.name.hasPrefix(first + " ") }) {
            let choices = Self.allCommands.filter { $0.name.hasPrefix(first + " ") }.map(\.name).joined(separator: ", ")
            throw ShellError.usage("\"\(first)\" needs a subcommand: \(choices)")
        }
        throw ShellError.unknownCommand(first)
    }

    /// Reopens the database (after `.compact` replaced its file).
    func reopen() throws { database = try Database.open(path: path, options: options) }

    /// A progress callback drawing `label: count (rate/s)` on standard error when it is a
    /// terminal, at most ten times a second.
    func progress(_ label: String) -> (@Sendable (UInt64) -> Void)? {
        guard showsProgress else { return nil }
        let line = ProgressLine(label: label, write: errorOutput)
        return { line.update($0) }
    }

    func endProgress() { if showsProgress { errorOutput("\r\u{1B}[K") } }
}

/// One progress line. The import, export, check and backup that report to it call it on the
/// thread that runs the command, one call at a time; it is Sendable only to cross the library's
/// `@Sendable` callback signatures.
final class ProgressLine: @unchecked Sendable {
    private let label: String
    private let write: (String) -> Void
    private let start = monotonicNow()
    private var last = 0.0

    init(label: String, write: @escaping (String) -> Void) {
        self.label = label
        self.write = write
    }

    func update(_ count: UInt64) {
        let now = monotonicNow()
        guard now - last >= 0.1 else { return }
        last = now
        let rate = Double(count) / max(now - start, 0.001)
        write("\r\(label): \(count) (\(Int(rate))/s)\u{1B}[K")
    }
}

/// `seconds` as milliseconds with three decimals ("12.345"), for `.timer`.
func milliseconds(_ seconds: Double) -> String {
    let microseconds = Int((max(0, seconds) * 1_000_000).rounded())
    let fraction = String(microseconds % 1000)
    return "\(microseconds / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
}

func monotonicNow() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
