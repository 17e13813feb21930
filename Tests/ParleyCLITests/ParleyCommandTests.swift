import Foundation
import XCTest

/// `parley` driven as a subprocess.
final class ParleyCommandTests: XCTestCase {
    func executable() throws -> String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("parley").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw XCTSkip("parley executable not found")
    }

    func run(_ arguments: [String], input: String? = nil, executable path: String? = nil) throws -> (status: Int32, output: String) {
        let (status, out, err) = try runSplit(arguments, input: input, executable: path)
        return (status, out + err)
    }

    /// Runs `parley` (or `executable`) with `input` on a pipe as standard input; returns the exit
    /// status, standard output and standard error. A signal death fails the test: never a crash.
    func runSplit(_ arguments: [String], input: String? = nil, executable path: String? = nil) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try path ?? executable())
        process.arguments = arguments
        let outPipe = Pipe()
        let errPipe = Pipe()
        let inPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = inPipe
        try process.run()
        if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
        try inPipe.fileHandleForWriting.close()
        let errData = SharedLocked(Data())
        let reader = Thread { errData.value = errPipe.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outData = outPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while reader.isExecuting || !reader.isFinished { usleep(1000) }
        XCTAssertEqual(process.terminationReason, .exit, "parley \(arguments) died of a signal")
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData.value, as: UTF8.self))
    }

    func testVersion() throws {
        let (status, output) = try run(["--version"])
        XCTAssertEqual(status, 0)
        XCTAssertEqual(output.trimmingCharacters(in: .whitespacesAndNewlines), "0.1.0")
    }

    func testHelp() throws {
        let (status, output) = try run(["--help"])
        XCTAssertEqual(status, 0)
        XCTAssertTrue(output.contains("USAGE: parley"), output)
    }

    private func directory() throws -> String {
        let path = NSTemporaryDirectory() + "parley-cli-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testOneShotCommands() throws {
        let file = try directory() + "/chat.parley"
        var result = try runSplit([file, "user", "set", "alice", "--name", "Alice Liddell"])
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertTrue(result.out.contains("Alice Liddell"))
        result = try runSplit([file, "user", "get", "alice", "--mode", "jsonl"])
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertTrue(result.out.hasPrefix("{\"handle\":\"alice\",\"display_name\":\"Alice Liddell\""), result.out)
        result = try runSplit([file, "count", "not-an-id"])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.err, "error: \"not-an-id\" is not a conversation id (a UUID)\n")
        result = try runSplit([file, "frobnicate"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.err.hasPrefix("error: unknown command"), result.err)
    }

    func testScriptStopsAtTheFirstErrorUnlessBailIsOff() throws {
        let file = try directory() + "/chat.parley"
        var result = try runSplit([file], input: "user set a\nbogus command\nuser set b\n")
        XCTAssertEqual(result.status, 1)
        XCTAssertFalse(result.out.contains("parley>"), "no prompt when standard input is not a terminal")
        XCTAssertEqual(result.err, "error: unknown command \"bogus\" (try .help)\n")
        result = try runSplit([file, "users", "--mode", "csv"])
        XCTAssertEqual(result.out.split(separator: "\r\n").count, 2, "only a was stored: \(result.out)")
        result = try runSplit(["--bail", "off", file], input: "bogus\nuser set b\n")
        XCTAssertEqual(result.status, 1, "an error still shows in the exit status")
        result = try runSplit([file, "users", "--mode", "csv"])
        XCTAssertTrue(result.out.contains("b,"), result.out)
    }

    func testDemoThenQueries() throws {
        let file = try directory() + "/demo.parley"
        var result = try runSplit(["demo", file])
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertTrue(result.out.contains("60 conversations"), result.out)
        result = try runSplit(["demo", file])
        XCTAssertEqual(result.status, 1, "demo refuses an existing file")
        result = try runSplit([file, "inbox", "helpdesk-bot", "--limit", "3", "--mode", "jsonl"])
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertEqual(result.out.split(separator: "\n").count, 3)
        result = try runSplit([file, ".check"])
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertTrue(result.out.contains("ok"))
    }

    func testImportExportRoundTripThroughTheTool() throws {
        let dir = try directory()
        var lines: [String] = []
        for c in 0..<25 {
            var messages: [String] = []
            for m in 0..<(1 + c % 7) {
                messages.append("{\"sender\":\"u\(m % 3)\",\"text\":\"conversation \(c) message \(m) \\u00e9\\n\\\"quoted\\\"\",\"created_at\":\(1_600_000_000_000_000 + c * 1000 + m)}")
            }
            lines.append("{\"id\":\"c\(c)\",\"participants\":[\"u0\",\"u1\",\"u2\"],\"messages\":[\(messages.joined(separator: ","))]}")
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/in.jsonl", atomically: true, encoding: .utf8)
        var result = try runSplit([dir + "/a.parley", ".import", dir + "/in.jsonl"])
        XCTAssertEqual(result.status, 0, result.err)
        result = try runSplit([dir + "/a.parley", ".export", dir + "/one.jsonl"])
        XCTAssertEqual(result.status, 0, result.err)
        result = try runSplit([dir + "/b.parley", ".import", dir + "/one.jsonl"])
        XCTAssertEqual(result.status, 0, result.err)
        result = try runSplit([dir + "/b.parley", ".export", dir + "/two.jsonl"])
        XCTAssertEqual(result.status, 0, result.err)
        let one = try Data(contentsOf: URL(fileURLWithPath: dir + "/one.jsonl"))
        XCTAssertEqual(one, try Data(contentsOf: URL(fileURLWithPath: dir + "/two.jsonl")))
        XCTAssertEqual(String(decoding: one, as: UTF8.self).split(separator: "\n").count, 25)

        // A bad line: its number, a non-zero exit, nothing of it stored; --skip-bad carries on.
        try "{\"participants\":[\"x\"],\"messages\":[]}\n{\"participants\":[\"x\"],\"messages\":[{\"sender\":\"x\",\"text\":\"t\",\"role\":\"robot\"}]}\n"
            .write(toFile: dir + "/bad.jsonl", atomically: true, encoding: .utf8)
        result = try runSplit([dir + "/c.parley", ".import", dir + "/bad.jsonl"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.err.contains("line 2"), result.err)
        result = try runSplit([dir + "/c.parley", "stats", "--mode", "jsonl"])
        XCTAssertTrue(result.out.contains("\"conversations\":1,"), result.out)
        result = try runSplit([dir + "/d.parley", ".import", dir + "/bad.jsonl", "--skip-bad"])
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertTrue(result.err.contains("line 2"), result.err)
    }

    func testFileInUseAndCorruptFileAreClearErrors() throws {
        let dir = try directory()
        let corrupt = dir + "/garbage.parley"
        try Data(repeating: 0x5A, count: 64 * 1024).write(to: URL(fileURLWithPath: corrupt))
        var result = try runSplit([corrupt, "stats"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.err.hasPrefix("error: ") && result.err.contains("not a valid database"), result.err)

        // A second parley on a file another process holds open.
        let file = dir + "/held.parley"
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: try executable())
        holder.arguments = [file]
        let input = Pipe()
        let output = Pipe()
        holder.standardInput = input
        holder.standardOutput = output
        holder.standardError = output
        try holder.run()
        // The holder has the file once it printed the result of its first command.
        input.fileHandleForWriting.write(Data("user set holder\n".utf8))
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("holder") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += chunk
        }
        result = try runSplit([file, "stats"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.err.contains("in use"), result.err)
        try input.fileHandleForWriting.close()
        holder.waitUntilExit()
        XCTAssertEqual(holder.terminationStatus, 0)
    }

    /// The interactive shell through a pseudo-terminal (util-linux `script` provides it).
    func testInteractiveThroughAPseudoTerminal() throws {
        let scriptTool = "/usr/bin/script"
        guard FileManager.default.isExecutableFile(atPath: scriptTool) else { throw XCTSkip("no /usr/bin/script") }
        let file = try directory() + "/tty.parley"
        let home = try directory()
        let command = "HOME=\(home) \(try executable()) \(file)"
        let result = try runSplit(
            ["-q", "-e", "-c", command, "/dev/null"], input: "user set ttyuser\nnot-a-command\nusers\n.quit\n", executable: scriptTool)
        XCTAssertEqual(result.status, 0, result.out + result.err)
        XCTAssertTrue(result.out.contains("parley> "), result.out)
        XCTAssertTrue(result.out.contains("error: unknown command \"not-a-command\""), "errors do not end the session: \(result.out)")
        XCTAssertTrue(result.out.contains("ttyuser"), result.out)
        let history = (try? String(contentsOfFile: home + "/.parley_history", encoding: .utf8)) ?? ""
        // libedit writes spaces as \040.
        XCTAssertTrue(history.contains("ttyuser"), "history: \(history)")
    }
}

/// A value shared with a reader thread.
final class SharedLocked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}
