// The operator's commands: help, output settings, integrity check, checkpoint, compaction,
// backup, import and export.

import Parley
import ParleyInterchange

extension Shell {
    static let dotCommands: [Command] = [
        Command(".help", "[COMMAND]", "list every command, or one command's grammar", example: ".help append") { shell, args in
            let wanted = args.positional.joined(separator: " ")
            let commands = wanted.isEmpty ? allCommands : allCommands.filter { $0.name == wanted || $0.name.hasPrefix(wanted + " ") }
            guard !commands.isEmpty else { throw ShellError.unknownCommand(wanted) }
            return ResultSet(columns: ["command", "summary", "example"], rows: commands.map { [.string($0.usage), .string($0.summary), .string($0.example)] })
        },
        Command(".mode", "table|json|jsonl|csv|line", "set the output mode", example: ".mode json") { shell, args in
            try args.expect(1...1)
            guard let mode = OutputMode(rawValue: try args.positional(0)) else { throw ShellError.usage("modes: table, json, jsonl, csv, line") }
            shell.mode = mode
            return .empty
        },
        Command(".timer", "on|off", "print each command's time", example: ".timer on") { shell, args in
            shell.timer = try onOff(args)
            return .empty
        },
        Command(".bail", "on|off", "in scripts, stop at the first error (on by default)", example: ".bail off") { shell, args in
            shell.bail = try onOff(args)
            return .empty
        },
        Command(".quit", "", "leave the shell", example: ".quit") { shell, _ in
            shell.wantsToQuit = true
            return .empty
        },
        Command(".exit", "", "leave the shell", example: ".exit") { shell, _ in
            shell.wantsToQuit = true
            return .empty
        },
        Command(".check", "", "full integrity check: pages, trees, blocks, indexes and their agreement", example: ".check") { shell, args in
            try args.expect(0...0)
            let draw = shell.progress("check")
            let result = try shell.database.checkIntegrity { done, _ in draw?(UInt64(done)) }
            shell.endProgress()
            if !result.isSound {
                for problem in result.problems { shell.errorOutput("problem: \(problem)\n") }
                throw ShellError.usage("integrity check found \(result.problems.count) problem(s)")
            }
            return ResultSet.record([
                "result": .string("ok"), "conversations": .int(Int64(result.conversations)), "messages": .int(Int64(result.messages)),
                "blocks": .int(Int64(result.blocks)), "pages": .int(Int64(result.pages)),
            ])
        },
        Command(".checkpoint", "", "seal recent messages into blocks and empty the log", example: ".checkpoint") { shell, args in
            try args.expect(0...0)
            try shell.database.checkpoint()
            return .message("ok")
        },
        Command(".backup", "FILE", "write a consistent copy to FILE while the database stays in use", example: ".backup /tmp/bot-copy.parley") { shell, args in
            try args.expect(1...1)
            try shell.database.backup(to: try args.positional(0), progress: shell.progress("backup"))
            shell.endProgress()
            return .message("ok")
        },
        Command(".compact", "", "rewrite the file without free space, replacing it atomically", example: ".compact") { shell, args in
            try args.expect(0...0)
            try shell.database.close()
            let sizes: (before: Int, after: Int)
            do {
                sizes = try Database.compact(path: shell.path, options: shell.options, progress: shell.progress("compact"))
            } catch {
                try shell.reopen()
                throw error
            }
            shell.endProgress()
            try shell.reopen()
            return ResultSet.record(["bytes_before": .int(Int64(sizes.before)), "bytes_after": .int(Int64(sizes.after))])
        },
        Command(".import", "FILE [--skip-bad]", "import JSON Lines (gzipped or not), one conversation per line",
                example: ".import corpus.jsonl.gz --skip-bad", switches: ["skip-bad"]) { shell, args in
            try args.expect(1...1)
            var options = ImportOptions()
            options.skipBad = args.switches.contains("skip-bad")
            if let draw = shell.progress("import") {
                options.progress = { progress in draw(UInt64(progress.lines)) }
            }
            let summary = try Importer.importFile(path: try args.positional(0), into: shell.database, options: options)
            shell.endProgress()
            if summary.timestampsMadeUp > 0 {
                shell.errorOutput("note: \(summary.timestampsMadeUp) messages had no created_at; increasing timestamps were made up\n")
            }
            for skipped in summary.skipped { shell.errorOutput("skipped: \(skipped)\n") }
            return ResultSet.record([
                "conversations": .int(Int64(summary.conversations)), "messages": .int(Int64(summary.messages)),
                "users_created": .int(Int64(summary.usersCreated)), "lines_skipped": .int(Int64(summary.linesSkipped)),
                "timestamps_made_up": .int(Int64(summary.timestampsMadeUp)),
            ])
        },
        Command(".export", "FILE [ID...]", "export conversations (all, or those given) as JSON Lines",
                example: ".export backup.jsonl") { shell, args in
            try args.expect(1...Int.max)
            var options = ExportOptions()
            if args.positional.count > 1 {
                options.conversations = try (1..<args.positional.count).map { try args.conversation($0) }
            }
            if let draw = shell.progress("export") {
                options.progress = { progress in draw(UInt64(progress.conversations)) }
            }
            let summary = try Exporter.exportFile(from: shell.database, path: try args.positional(0), options: options)
            shell.endProgress()
            return ResultSet.record(["conversations": .int(Int64(summary.conversations)), "messages": .int(Int64(summary.messages))])
        },
    ]

    private static func onOff(_ args: Arguments) throws -> Bool {
        try args.expect(1...1)
        switch try args.positional(0) {
        case "on": return true
        case "off": return false
        default: throw ShellError.usage("expected on or off")
        }
    }
}
