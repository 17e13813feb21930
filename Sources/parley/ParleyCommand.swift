// `parley`: the command-line tool. `parley FILE` opens an interactive shell (or reads commands
// from standard input when it is not a terminal); `parley FILE COMMAND ...` runs one command;
// `parley demo FILE` makes a sample database.

import ArgumentParser
import Glibc
import Parley
import ParleyShell

@main
struct ParleyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parley",
        abstract: "Open and query a ParleyDB conversation database.",
        discussion: """
            parley FILE                 interactive shell (line editing, history, tab completion)
            parley FILE < script        run commands from standard input; stop at the first error
            parley FILE COMMAND ...     run one command and exit
            parley demo FILE            create FILE with a sample of conversations

            Inside the shell, .help lists every command with an example.
            """,
        version: ParleyVersion.string,
        subcommands: [Open.self, DemoCommand.self],
        defaultSubcommand: Open.self
    )
}

extension OutputMode: ExpressibleByArgument {}

struct Open: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "open", abstract: "Open a database (the default).")

    @Option(help: "Output mode: table, json, jsonl, csv or line.")
    var mode: OutputMode = .table

    @Option(help: "In scripts, stop at the first error (on) or carry on (off).")
    var bail: String = "on"

    @Argument(help: "The database file (created when missing).")
    var file: String

    @Argument(parsing: .captureForPassthrough, help: "A command to run instead of the shell.")
    var command: [String] = []

    func run() throws {
        // `--mode` and `--bail` may also follow FILE (`parley chat.parley stats --mode json`).
        var mode = self.mode
        var bail = self.bail
        var command: [String] = []
        var words = self.command.makeIterator()
        while let word = words.next() {
            if word == "--mode", let value = words.next() {
                guard let parsed = OutputMode(rawValue: value) else { throw ValidationError("--mode takes table, json, jsonl, csv or line") }
                mode = parsed
            } else if word == "--bail", let value = words.next() {
                bail = value
            } else {
                command.append(word)
            }
        }
        guard bail == "on" || bail == "off" else { throw ValidationError("--bail takes on or off") }
        let shell: Shell
        do {
            shell = try Shell(path: file, output: Terminal.out, errorOutput: Terminal.err)
        } catch {
            Terminal.err("error: \(Shell.describeError(error))\n")
            throw ExitCode(1)
        }
        shell.mode = mode
        shell.bail = bail == "on"
        shell.showsProgress = isatty(STDERR_FILENO) == 1
        shell.width = Terminal.width()
        var failed = false
        if !command.isEmpty {
            failed = !shell.execute(words: command)
        } else if isatty(STDIN_FILENO) == 1 {
            runInteractive(shell)
        } else {
            while let line = readLine(strippingNewline: true) {
                if !shell.execute(line) {
                    failed = true
                    if shell.bail { break }
                }
                if shell.wantsToQuit { break }
            }
        }
        do {
            try shell.close()
        } catch {
            Terminal.err("error: \(Shell.describeError(error))\n")
            failed = true
        }
        if failed { throw ExitCode(1) }
    }

    private func runInteractive(_ shell: Shell) {
        let editor = LineEditor()
        Terminal.out("ParleyDB \(ParleyVersion.string) on \(file). Type .help for commands, .quit to leave.\n")
        while !shell.wantsToQuit {
            editor.setCandidates(shell.completionWords())
            guard let line = editor.readLine(prompt: "parley> ") else {
                Terminal.out("\n")
                break
            }
            shell.width = Terminal.width()
            shell.execute(line)
        }
    }
}

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo", abstract: "Create a database with a realistic sample.")

    @Argument(help: "The new database file (must not exist).")
    var file: String

    func run() throws {
        guard access(file, F_OK) != 0 else {
            Terminal.err("error: \(file) exists; demo makes a new database\n")
            throw ExitCode(1)
        }
        do {
            let database = try Database.open(path: file)
            let summary = try Demo.populate(database)
            try database.close()
            Terminal.out("""
                Created \(file): \(summary.users) users, \(summary.conversations) conversations, \(summary.messages) messages.
                Try:
                  parley \(file) inbox \(summary.sampleUser) --limit 5
                  parley \(file) messages \(summary.sampleConversation) --newest 10
                  parley \(file) stats

                """)
        } catch {
            Terminal.err("error: \(Shell.describeError(error))\n")
            throw ExitCode(1)
        }
    }
}

/// Standard output and error, written whole (no buffering to forget to flush).
enum Terminal {
    static func out(_ text: String) { write(STDOUT_FILENO, text) }
    static func err(_ text: String) { write(STDERR_FILENO, text) }

    private static func write(_ descriptor: Int32, _ text: String) {
        var copy = text
        copy.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count, let base = buffer.baseAddress {
                let written = Glibc.write(descriptor, base + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    /// Columns of the terminal on standard output; nil when it is not a terminal.
    static func width() -> Int? {
        guard isatty(STDOUT_FILENO) == 1 else { return nil }
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 100 }
        return Int(size.ws_col)
    }
}
