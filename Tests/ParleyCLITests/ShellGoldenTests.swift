import Foundation
import XCTest
@testable import ParleyShell
@testable import Parley

/// The shell in-process on a database with a fixed clock: every output mode against its golden
/// text, and every error path as one line that leaves the session running.
final class ShellGoldenTests: XCTestCase {
    private func makeShell(_ test: XCTestCase) throws -> (Shell, () -> String, () -> String) {
        let directory = NSTemporaryDirectory() + "parley-shell-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        var options = Database.Options(durability: .normal)
        options.engine.backgroundWork = false
        options.clock = { Timestamp(microseconds: 1_700_000_000_000_000) }
        var out = ""
        var err = ""
        let shell = try Shell(path: directory + "/chat.parley", options: options, output: { out += $0 }, errorOutput: { err += $0 })
        return (shell, { defer { out = "" }; return out }, { defer { err = "" }; return err })
    }

    private func conversation(_ shell: Shell, _ out: () -> String) throws -> String {
        XCTAssertTrue(shell.execute("user set alice --name Alice"))
        XCTAssertTrue(shell.execute("user set bot"))
        _ = out()
        shell.mode = .jsonl
        XCTAssertTrue(shell.execute("conv create alice,bot --title 'Order, \"981\"'"))
        let line = out()
        let id = try XCTUnwrap(line.split(separator: "\"").dropFirst(3).first.map(String.init), line)
        XCTAssertTrue(shell.execute("append \(id) bot 'You help.' --role system --at 2023-11-14T22:13:20Z"))
        XCTAssertTrue(shell.execute("append \(id) alice 'Hello,\nworld' --at 1700000001000000 --meta '{\"lang\":\"en\"}'"))
        _ = out()
        return id
    }

    func testEveryOutputModeMatchesItsGolden() throws {
        let (shell, out, _) = try makeShell(self)
        let id = try conversation(shell, out)
        let command = "messages \(id) --oldest 5"
        let golden: [(OutputMode, String)] = [
            (.table, """
                id  conversation  created_at            sender  role    text          tokens  content_type  status    metadata       attachments
                --  ------------  --------------------  ------  ------  ------------  ------  ------------  --------  -------------  -----------
                1   {ID}  2023-11-14T22:13:20Z  bot     system  You help.     3       text/plain    complete                 []
                2   {ID}  2023-11-14T22:13:21Z  alice   user    Hello,⏎world  3       text/plain    complete  {"lang":"en"}  []

                """),
            (.json, """
                [{"id":1,"conversation":"{ID}","created_at":1700000000000000,"sender":"bot","role":"system","text":"You help.","tokens":3,"content_type":"text/plain","status":"complete","metadata":null,"attachments":[]},{"id":2,"conversation":"{ID}","created_at":1700000001000000,"sender":"alice","role":"user","text":"Hello,\\nworld","tokens":3,"content_type":"text/plain","status":"complete","metadata":{"lang":"en"},"attachments":[]}]

                """),
            (.jsonl, """
                {"id":1,"conversation":"{ID}","created_at":1700000000000000,"sender":"bot","role":"system","text":"You help.","tokens":3,"content_type":"text/plain","status":"complete","metadata":null,"attachments":[]}
                {"id":2,"conversation":"{ID}","created_at":1700000001000000,"sender":"alice","role":"user","text":"Hello,\\nworld","tokens":3,"content_type":"text/plain","status":"complete","metadata":{"lang":"en"},"attachments":[]}

                """),
            (.csv, "id,conversation,created_at,sender,role,text,tokens,content_type,status,metadata,attachments\r\n"
                + "1,{ID},2023-11-14T22:13:20Z,bot,system,You help.,3,text/plain,complete,,[]\r\n"
                + "2,{ID},2023-11-14T22:13:21Z,alice,user,\"Hello,\nworld\",3,text/plain,complete,\"{\"\"lang\"\":\"\"en\"\"}\",[]\r\n"),
            (.line, """
                          id = 1
                conversation = {ID}
                  created_at = 2023-11-14T22:13:20Z
                      sender = bot
                        role = system
                        text = You help.
                      tokens = 3
                content_type = text/plain
                      status = complete
                    metadata = 
                 attachments = []

                          id = 2
                conversation = {ID}
                  created_at = 2023-11-14T22:13:21Z
                      sender = alice
                        role = user
                        text = Hello,
                world
                      tokens = 3
                content_type = text/plain
                      status = complete
                    metadata = {"lang":"en"}
                 attachments = []

                """),
        ]
        for (mode, expected) in golden {
            shell.mode = mode
            XCTAssertTrue(shell.execute(command))
            var text = out().replacingOccurrences(of: id, with: "{ID}")
            if mode == .table {
                // The id column is as wide as an id: keep the golden readable.
                text = text.replacingOccurrences(of: "conversation                        ", with: "conversation")
                    .replacingOccurrences(of: "------------------------------------", with: "------------")
            }
            XCTAssertEqual(text, mode == .csv ? expected : expected.trimmingCharacters(in: .newlines) + "\n", "mode \(mode)")
        }
        try shell.close()
    }

    func testTableFitsTheWidth() throws {
        let (shell, out, _) = try makeShell(self)
        let id = try conversation(shell, out)
        XCTAssertTrue(shell.execute("append \(id) alice '\(String(repeating: "long text ", count: 40))'"))
        _ = out()
        shell.mode = .table
        shell.width = 80
        XCTAssertTrue(shell.execute("messages \(id) --newest 1"))
        let lines = out().split(separator: "\n")
        XCTAssertFalse(lines.isEmpty)
        for line in lines { XCTAssertLessThanOrEqual(line.count, 80, String(line)) }
        XCTAssertTrue(lines.contains { $0.contains("…") })
        try shell.close()
    }

    func testErrorsAreOneLineAndTheSessionGoesOn() throws {
        let (shell, out, err) = try makeShell(self)
        let id = try conversation(shell, out)
        let cases: [(String, String)] = [
            ("frobnicate", "error: unknown command \"frobnicate\" (try .help)\n"),
            ("conv", "error: \"conv\" needs a subcommand"),
            ("count not-a-uuid", "error: \"not-a-uuid\" is not a conversation id (a UUID)\n"),
            ("count 00000000-0000-4000-8000-000000000000", "error: no conversation 00000000-0000-4000-8000-000000000000\n"),
            ("append \(id) mallory hi", "error: \"mallory\" does not take part in conversation"),
            ("messages \(id) --newest many", "error: --newest needs an integer, got \"many\"\n"),
            ("messages \(id) --sideways 3", "error: unknown option --sideways"),
            ("append \(id) alice 'unterminated", "error: unterminated ' quote\n"),
            ("state set k v --ttl -5", "error: a TTL must not be negative (got -5.0)\n"),
            ("conv create alice --platform p", "error: invalid argument: platform and external id must be given together\n"),
            (".mode fancy", "error: modes: table, json, jsonl, csv, line\n"),
            ("message 999", "error: no message 999\n"),
        ]
        for (line, expected) in cases {
            XCTAssertFalse(shell.execute(line), line)
            let text = err()
            XCTAssertTrue(text.hasPrefix(expected), "\(line): \(text)")
            XCTAssertEqual(text.filter { $0 == "\n" }.count, 1, "\(line): one line, got \(text)")
        }
        // Still working.
        shell.mode = .csv
        XCTAssertTrue(shell.execute("count \(id)"))
        XCTAssertEqual(out(), "messages\r\n2\r\n")
        try shell.close()
    }

    func testHelpListsEveryCommandWithAnExample() throws {
        let (shell, out, _) = try makeShell(self)
        shell.mode = .jsonl
        XCTAssertTrue(shell.execute(".help"))
        let text = out()
        for name in Shell.commandNames { XCTAssertTrue(text.contains("\"command\":\"\(name)"), name) }
        XCTAssertEqual(text.split(separator: "\n").count, Shell.commandNames.count)
        XCTAssertFalse(text.contains("\"example\":\"\""))
        try shell.close()
    }

    func testCompletionTimerAndCheck() throws {
        let (shell, out, err) = try makeShell(self)
        let id = try conversation(shell, out)
        let words = shell.completionWords()
        for word in ["conv", "create", "append", ".check", ".import", id] { XCTAssertTrue(words.contains(word), word) }

        shell.timer = true
        XCTAssertTrue(shell.execute("count \(id)"))
        let timing = err()
        XCTAssertNotNil(timing.wholeMatch(of: /time: [0-9]+\.[0-9]{3} ms\n/), timing)
        shell.timer = false
        XCTAssertEqual(milliseconds(0.0123456), "12.346")
        XCTAssertEqual(milliseconds(2.5), "2500.000")
        XCTAssertEqual(milliseconds(0.000_001_2), "0.001")
        XCTAssertEqual(milliseconds(0), "0.000")

        shell.mode = .jsonl
        XCTAssertTrue(shell.execute(".check"))
        XCTAssertTrue(out().contains("\"result\":\"ok\""))
        // Damage an index entry: .check fails and lists the problem.
        try shell.database.checkpoint()
        try shell.database.engine.write { transaction in
            let inbox = try XCTUnwrap(try transaction.cursor(Tree.inbox).first())
            try transaction.delete(Tree.inbox, inbox.key)
        }
        XCTAssertFalse(shell.execute(".check"))
        let report = err()
        XCTAssertTrue(report.contains("problem: chat.inbox"), report)
        XCTAssertTrue(report.contains("error: integrity check found"), report)
        try shell.close()
    }
}
