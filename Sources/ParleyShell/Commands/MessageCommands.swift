// Message, inbox, read-marker, state and lifecycle commands.

import Parley

extension Shell {
    static let messageCommands: [Command] = [
        Command("append", "ID SENDER TEXT [--role R] [--tokens N] [--at TIME] [--type MIME] [--meta JSON]",
                "append a message", example: "append 3f2b8c1e-7d4a-4e21-9c3b-0a1b2c3d4e5f alice 'Where is my order?'",
                options: ["role", "tokens", "at", "type", "meta"]) { shell, args in
            try args.expect(3...3)
            let message = NewMessage(
                sender: try args.positional(1), role: try args.options["role"].map(Arguments.role) ?? .user, text: try args.positional(2),
                contentType: args.options["type"] ?? "text/plain", tokens: try args.integer("tokens"), createdAt: try args.time("at"),
                metadata: try args.json("meta"))
            return Rows.messages([try shell.database.append(message, to: try args.conversation(0))])
        },
        Command("messages", "ID [--newest N | --oldest N] [--before MSG] [--after MSG] [--from TIME] [--to TIME] [--role R,...] [--sender S]",
                "a conversation's messages (newest 20 by default)", example: "messages 3f2b8c1e-7d4a-4e21-9c3b-0a1b2c3d4e5f --newest 5 --role user",
                options: ["newest", "oldest", "before", "after", "from", "to", "role", "sender"]) { shell, args in
            try args.expect(1...1)
            let id = try args.conversation(0)
            var query = MessageQuery(order: .newestFirst, limit: 20)
            if let newest = try args.integer("newest") { query.limit = newest }
            if let oldest = try args.integer("oldest") {
                guard args.options["newest"] == nil else { throw ShellError.usage("give --newest or --oldest, not both") }
                query.order = .oldestFirst
                query.limit = oldest
            }
            let (from, to) = (try args.time("from"), try args.time("to"))
            if from != nil || to != nil {
                let lower = from ?? Timestamp(microseconds: .min)
                let upper = to ?? Timestamp(microseconds: .max)
                guard lower <= upper else { throw ShellError.usage("--from must not be after --to") }
                query.timeRange = lower..<upper
            }
            if let roles = args.options["role"] { query.roles = Set(try roles.split(separator: ",").map { try Arguments.role(String($0)) }) }
            query.sender = args.options["sender"]
            return Rows.messages(try shell.database.read { reader in
                for (name, keyPath) in [("before", \MessageQuery.before), ("after", \MessageQuery.after)] {
                    guard let text = args.options[name] else { continue }
                    let messageID = try Arguments.messageID(text)
                    guard let cursor = try reader.message(messageID), cursor.conversation == id else { throw ParleyError.unknownMessage(messageID) }
                    query[keyPath: keyPath] = cursor.position
                }
                return try reader.messages(in: id, query)
            })
        },
        Command("page", "ID START END [--newest-first]", "messages by index, [START, END), 0 the oldest (or newest)",
                example: "page 3f2b8c1e-7d4a-4e21-9c3b-0a1b2c3d4e5f 0 50", switches: ["newest-first"]) { shell, args in
            try args.expect(3...3)
            let start = try Arguments.integer(try args.positional(1), "START")
            let end = try Arguments.integer(try args.positional(2), "END")
            guard start >= 0, end >= start else { throw ShellError.usage("need 0 <= START <= END") }
            let order: MessageOrder = args.switches.contains("newest-first") ? .newestFirst : .oldestFirst
            let id = try args.conversation(0)
            return Rows.messages(try shell.database.read { try $0.messages(in: id, indices: start..<end, order: order) })
        },
        Command("message", "MSG", "one message by id", example: "message 42") { shell, args in
            try args.expect(1...1)
            let id = try Arguments.messageID(try args.positional(0))
            guard let message = try shell.database.message(id) else { throw ParleyError.unknownMessage(id) }
            return Rows.messages([message])
        },
        Command("count", "ID", "number of messages in a conversation", example: "count 3f2b8c1e-7d4a-4e21-9c3b-0a1b2c3d4e5f") { shell, args in
            try args.expect(1...1)
            let id = try args.conversation(0)
            return ResultSet.record(["messages": .int(Int64(try shell.database.read { try $0.messageCount(in: id) }))])
        },
        Command("context", "ID BUDGET", "the context window: system messages and the newest that fit BUDGET tokens",
                example: "context 3f2b8c1e-7d4a-4e21-9c3b-0a1b2c3d4e5f 4000") { shell, args in
            try args.expect(2...2)
            let window = try shell.database.contextWindow(in: try args.conversation(0), tokenBudget: try Arguments.integer(try args.positional(1), "BUDGET"))
            return Rows.messages(window.messages)
        },
        Command("inbox", "USER [--limit N] [--offset N] [--after CURSOR] [--status S,...]",
                "a user's conversations, most recent first, with unread counts", example: "inbox alice --limit 10",
                options: ["limit", "offset", "after", "status"]) { shell, args in
            try args.expect(1...1)
            var query = InboxQuery(limit: try args.integer("limit") ?? 20, offset: try args.integer("offset") ?? 0)
            query.after = try args.options["after"].map(Rows.cursor)
            if let statuses = args.options["status"] {
                query.statuses = Set(try statuses.split(separator: ",").map { try Arguments.status(String($0)) })
            }
            return Rows.inbox(try shell.database.inbox(of: try args.positional(0), query))
        },
        Command("read", "USER ID MSG", "mark messages read up to and including MSG",
                example: "read alice 3f2b8c1e-7d4a-4e21-9c3b-0a1b2c3d4e5f 42") { shell, args in
            try args.expect(3...3)
            try shell.database.markRead(user: try args.positional(0), conversation: try args.conversation(1),
                                        through: try Arguments.messageID(try args.positional(2)))
            return .message("ok")
        },
        Command("unread", "USER [ID]", "unread messages of a user, in one conversation or all", example: "unread alice") { shell, args in
            try args.expect(1...2)
            let user = try args.positional(0)
            let count = try shell.database.read { reader in
                args.positional.count == 2 ? try reader.unreadCount(user: user, conversation: try args.conversation(1)) : try reader.unreadCount(user: user)
            }
            return ResultSet.record(["unread": .int(Int64(count))])
        },
        Command("state get", "KEY", "a state value (KEY: a conversation id, or any other key)", example: "state get session:42") { shell, args in
            try args.expect(1...1)
            guard let value = try shell.database.state(Arguments.stateKey(try args.positional(0))) else { return ResultSet(columns: ["value", "expires_at"], rows: []) }
            return ResultSet.record(["value": .string(String(decoding: value.value, as: UTF8.self)), "expires_at": .time(value.expiresAt)])
        },
        Command("state set", "KEY VALUE [--ttl SECONDS]", "store a state value (24 h by default)", example: "state set session:42 '{\"step\":2}' --ttl 3600",
                options: ["ttl"]) { shell, args in
            try args.expect(2...2)
            try shell.database.setState(Arguments.stateKey(try args.positional(0)), value: Array(try args.positional(1).utf8),
                                        ttl: try args.number("ttl") ?? ChatWriter.defaultStateTTL)
            return .message("ok")
        },
        Command("state touch", "KEY [--ttl SECONDS]", "slide a live value's expiry", example: "state touch session:42 --ttl 3600", options: ["ttl"]) { shell, args in
            try args.expect(1...1)
            let live = try shell.database.touchState(Arguments.stateKey(try args.positional(0)), ttl: try args.number("ttl") ?? ChatWriter.defaultStateTTL)
            return .message(live ? "ok" : "no live value")
        },
        Command("state del", "KEY", "delete a state value", example: "state del session:42") { shell, args in
            try args.expect(1...1)
            let live = try shell.database.deleteState(Arguments.stateKey(try args.positional(0)))
            return .message(live ? "ok" : "no live value")
        },
        Command("archive", "--inactive-days N", "archive every new or active conversation idle for N days", example: "archive --inactive-days 30",
                options: ["inactive-days"]) { shell, args in
            try args.expect(0...0)
            guard let days = try args.number("inactive-days") else { throw ShellError.usage("usage: archive --inactive-days N") }
            return ResultSet.record(["archived": .int(Int64(try shell.database.archiveConversations(inactiveForDays: days)))])
        },
        Command("purge", "--older-than-days N", "delete messages older than N days", example: "purge --older-than-days 365",
                options: ["older-than-days"]) { shell, args in
            try args.expect(0...0)
            guard let days = try args.number("older-than-days") else { throw ShellError.usage("usage: purge --older-than-days N") }
            return ResultSet.record(["purged": .int(Int64(try shell.database.purgeMessages(olderThanDays: days)))])
        },
        Command("stats", "", "totals for the database", example: "stats") { shell, args in
            try args.expect(0...0)
            let s = try shell.database.stats()
            return ResultSet.record([
                "users": .int(Int64(s.users)), "conversations": .int(Int64(s.conversations)),
                "active_conversations_30d": .int(Int64(s.activeConversations30d)), "messages": .int(Int64(s.messages)),
                "messages_30d": .int(Int64(s.messages30d)), "tokens": .int(Int64(s.tokens)),
                "raw_message_bytes": .int(Int64(s.rawMessageBytes)), "stored_message_bytes": .int(Int64(s.storedMessageBytes)),
                "compression_ratio": .double((s.compressionRatio * 100).rounded() / 100), "file_bytes": .int(Int64(s.fileBytes)),
                "log_bytes": .int(Int64(s.logBytes)),
            ])
        },
    ]
}
