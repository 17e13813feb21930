// Seeds of the `repl` target: scripts that run every command of the shell (with the sample's
// conversations as `%0`..`%2` and a new one as `%n`), in every output mode, with the error paths
// the golden tests check. Regenerating the seeds warns about any command of the shell that no
// script runs.

import FuzzShell
import FuzzSupport

enum ReplSeeds {
    static let scripts: [String: [String]] = [
        "users": [
            "user set carol --name Carol --meta '{\"tier\":\"gold\",\"n\":[1,2.5,null]}'",
            "user get carol", "users --limit 3", "users --after alice --limit 2", "user get nobody",
        ],
        "conversations": [
            "conv create alice,carol,bot --platform web --external-id W1 --title 'Order, \"981\"' --meta '{\"k\":1}'",
            "conv show %n", "conv find web W1", "conv list", "conv list active --inactive-days 0 --limit 5",
            "conv list --after %0 --limit 1", "conv title %n 'New title'", "conv title %n", "conv meta %n '{\"a\":[true]}'",
            "conv meta %n null", "conv join %n zoë", "conv leave %n zoë", "conv status %n archived", "conv archive %1",
            "conv status %n closed", "append %n alice 'closed?'", "conv delete %n", "conv show %n",
        ],
        "messages": [
            "append %0 alice 'Hello,\\nworld' --role user --tokens 3 --at 2023-11-14T22:13:21Z --type text/markdown --meta '{\"lang\":\"en\"}'",
            "append %0 bot 'You help.' --role system --at 1700000000000000",
            "append %0 alice \"it's late\" --at 2020-01-01T00:00:00.5+02:00",
            "messages %0", "messages %0 --oldest 3 --after 2", "messages %0 --newest 2 --before 5",
            "messages %0 --from 2023-11-14T00:00:00Z --to 2023-11-15T00:00:00Z --role user,assistant --sender alice",
            "page %0 0 5", "page %0 2 4 --newest-first", "message 3", "count %0", "context %0 40",
        ],
        "inbox": [
            "inbox alice", "inbox bot --limit 1 --offset 1 --status active,archived", "read alice %0 2", "unread alice",
            "unread alice %0", "inbox zoë --after 1700000000000000:%1",
        ],
        "state": [
            "state set session:42 '{\"step\":2}' --ttl 3600", "state get session:42", "state touch session:42 --ttl 10",
            "state set %0 v", "state get %0", "state del session:42", "state get session:42", "state set k v --ttl -5",
        ],
        "lifecycle": ["archive --inactive-days 0", "purge --older-than-days 0", "stats", ".checkpoint", ".check", ".backup /copy.parley", ".compact", "stats"],
        "modes": [
            ".mode json", "messages %0 --oldest 2", ".mode jsonl", "inbox alice", ".mode csv", "users", ".mode line", "stats",
            ".mode table", "conv list", ".timer on", "count %0", ".timer off", ".bail off", ".help", ".help conv", ".help nothing", ".quit", ".exit",
        ],
        "errors": [
            "frobnicate", "conv", "count not-a-uuid", "count 00000000-0000-4000-8000-000000000000", "append %0 mallory hi",
            "messages %0 --newest many", "messages %0 --sideways 3", "append %0 alice 'unterminated", "conv create alice --platform p",
            ".mode fancy", "message 999", "page %0 -1 2", "context %0 -5", "# a comment", "", "   ",
        ],
    ]

    static func make() -> [Seed] {
        let lines = scripts.values.flatMap { $0 }
        for name in Shell.commandNames where name != ".import" && name != ".export" {
            if !lines.contains(where: { $0 == name || $0.hasPrefix(name + " ") }) {
                printError("warning: no repl seed runs the command \(name)\n")
            }
        }
        return scripts.sorted { $0.key < $1.key }.map { Seed($0.key, Array(($0.value.joined(separator: "\n") + "\n").utf8)) }
    }
}
