// Commands that mirror the chat store's API one to one.

import Parley

extension Shell {
    static let dataCommands: [Command] = [
        // Users
        Command("user set", "HANDLE [--name NAME] [--meta JSON]", "store or update a user", example: "user set alice --name Alice",
                options: ["name", "meta"]) { shell, args in
            try args.expect(1...1)
            let user = try shell.database.upsertUser(try args.positional(0), displayName: args.options["name"], metadata: try args.json("meta"))
            return Rows.users([user])
        },
        Command("user get", "HANDLE", "show a user", example: "user get alice") { shell, args in
            try args.expect(1...1)
            let handle = try args.positional(0)
            guard let user = try shell.database.user(handle) else { throw ParleyError.unknownUser(handle) }
            return Rows.users([user])
        },
        Command("users", "[--after HANDLE] [--limit N]", "list users in handle order", example: "users --limit 20",
                options: ["after", "limit"]) { shell, args in
            try args.expect(0...0)
            let limit = try args.integer("limit") ?? 100
            return Rows.users(try shell.database.read { try $0.users(after: args.options["after"], limit: limit) })
        },
        // Conversations
        Command("conv create", "USER[,USER...] [--platform P --external-id X] [--title T] [--meta JSON]",
                "create a conversation; prints its id", example: "conv create alice,bot --title Support",
                options: ["platform", "external-id", "title", "meta"]) { shell, args in
            try args.expect(1...1)
            let participants = try args.positional(0).split(separator: ",").map(String.init)
            let id = try shell.database.createConversation(
                NewConversation(participants: participants, platform: args.options["platform"], externalID: args.options["external-id"],
                                title: args.options["title"], metadata: try args.json("meta")))
            return ResultSet.record(["id": .string(id.description)])
        },
        Command("conv show", "ID", "show a conversation", example: "conv show 3f2b8c1e-7d4a-4e21-9c3b-0a1b2c3d4e5f") { shell, args in
            try args.expect(1...1)
            let id = try args.conversation(0)
            guard let conversation = try shell.database.conversation(id) else { throw ParleyError.unknownConversation(id) }
            return Rows.conversations([conversation])
        },
        Command("conv find", "PLATFORM EXTERNAL_ID", "find a conversation by platform and external id", example: "conv find slack C42") { shell, args in
            try args.expect(2...2)
            let found = try shell.database.conversation(platform: try args.positional(0), externalID: try args.positional(1))
            return Rows.conversations(found.map { [$0] } ?? [])
        },
        Command("conv list", "[STATUS] [--inactive-days N] [--after ID] [--limit N]",
                "conversations by status, least recently active first (all, in id order, without STATUS)",
                example: "conv list active --inactive-days 7", options: ["inactive-days", "after", "limit"]) { shell, args in
            try args.expect(0...1)
            let limit = try args.integer("limit") ?? 100
            guard let statusText = args.positional.first else {
                let after = try args.options["after"].map { text -> ConversationID in
                    guard let id = ConversationID(text) else { throw ShellError.usage("\"\(text)\" is not a conversation id") }
                    return id
                }
                return Rows.conversations(try shell.database.read { try $0.conversations(after: after, limit: limit) })
            }
            let status = try Arguments.status(statusText)
            let days = try args.number("inactive-days")
            let now = shell.clock()
            return Rows.conversations(try shell.database.read { reader in
                try reader.conversations(status: status, lastActiveBefore: days.map { now.adding(seconds: -$0 * 86_400) }, limit: limit)
            })
        },
        Command("conv status", "ID STATUS", "set a conversation's status (new, active, archived, closed)",
                example: "conv status 3f2b8c1e-7d4a-4e21-9c3b-0a1b2c3d4e5f closed") { shell, args in
            try args.expect(2...2)
            try shell.database.setStatus(try Arguments.status(try args.positional(1)), of: try args.conversation(0))
            return .message("ok")
        },
        Command("conv archive", "ID", "archive one conversation", example: "conv archive 3f2b8c1e-7d4a-4e21-9c3b-0a1b2c3d4e5f") { shell, args in
            try args.expect(1...1)
            try shell.database.setStatus(.archived, of: try args.conversation(0))
            return .message("ok")
        },
        Command("conv title", "ID [TITLE]", "set or clear a conversation's title", example: "conv title 3f2b8c1e-7d4a-4e21-9c3b-0a1b2c3d4e5f 'Order 981'") { shell, args in
            try args.expect(1...2)
            let id = try args.conversation(0)
            let title = args.positional.count > 1 ? args.positional[1] : nil
            try shell.database.write { try $0.setTitle(title, of: id) }
            return .message("ok")
        },
        Command("conv meta", "ID JSON", "set a conversation's metadata (null clears it)", example: "conv meta 3f2b8c1e-7d4a-4e21-9c3b-0a1b2c3d4e5f '{\"tier\":\"gold\"}'") { shell, args in
            try args.expect(2...2)
            let id = try args.conversation(0)
            let metadata = try Arguments(["--meta", try args.positional(1)], options: ["meta"], usage: "").json("meta")
            try shell.database.write { try $0.setMetadata(metadata == .null ? nil : metadata, of: id) }
            return .message("ok")
        },
        Command("conv join", "ID USER", "add a participant", example: "conv join 3f2b8c1e-7d4a-4e21-9c3b-0a1b2c3d4e5f carol") { shell, args in
            try args.expect(2...2)
            let id = try args.conversation(0)
            let added = try shell.database.write { try $0.addParticipant(try args.positional(1), to: id) }
            return .message(added ? "ok" : "already a participant")
        },
        Command("conv leave", "ID USER", "remove a participant", example: "conv leave 3f2b8c1e-7d4a-4e21-9c3b-0a1b2c3d4e5f carol") { shell, args in
            try args.expect(2...2)
            let id = try args.conversation(0)
            try shell.database.write { try $0.removeParticipant(try args.positional(1), from: id) }
            return .message("ok")
        },
        Command("conv delete", "ID", "delete a conversation with its messages, markers and state",
                example: "conv delete 3f2b8c1e-7d4a-4e21-9c3b-0a1b2c3d4e5f") { shell, args in
            try args.expect(1...1)
            try shell.database.deleteConversation(try args.conversation(0))
            return .message("ok")
        },
    ]
}
