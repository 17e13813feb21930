// A small, realistic chat store made through the public API, for seeds: every kind of record the
// store writes (users with metadata, conversations with and without an external id, messages of
// every role and status, with metadata and attachments, out of time order, system messages, read
// markers, state with a TTL, an archived and a closed conversation), in a few kilobytes.

import Parley

public enum SampleChat {
    public static let handles = ["alice", "bot", "zoë", "李", "e\u{301}mile", "\u{E9}mile"]

    /// Fills `database`: `messages` messages over three conversations. Advances `clock`.
    @discardableResult
    public static func fill(_ database: Database, clock: FuzzClock, messages: Int) throws -> [ConversationID] {
        let ids = try database.write { chat -> [ConversationID] in
            for handle in handles { try chat.upsertUser(handle, displayName: handle == "alice" ? "Alice" : nil) }
            try chat.upsertUser("bot", metadata: ["model": "small", "temperature": 0.5, "tags": ["a", 1, true, .null]])
            let support = try chat.createConversation(
                NewConversation(participants: ["alice", "bot"], platform: "slack", externalID: "C42", title: "Order 981"))
            let group = try chat.createConversation(
                NewConversation(participants: ["zoë", "李", "bot", "e\u{301}mile", "\u{E9}mile"], title: "Gruppe", metadata: ["team": 7]))
            let quiet = try chat.createConversation(NewConversation(participants: ["alice"]))
            return [support, group, quiet]
        }
        let roles: [Role] = [.user, .assistant, .tool, .user]
        try database.append(NewMessage(sender: "bot", role: .system, text: "You are a helpful assistant."), to: ids[0])
        for index in 0..<messages {
            clock.advance(by: 1_500_000)
            let id = ids[index % 2]
            let members = index % 2 == 0 ? ["alice", "bot"] : ["zoë", "李", "bot", "e\u{301}mile"]
            var message = NewMessage(
                sender: members[index % members.count], role: roles[index % roles.count],
                text: index % 5 == 4 ? String(repeating: "lorem ipsum \(index) ", count: 6) : "message \(index) ✓")
            if index % 7 == 3 { message.metadata = ["lang": "en", "score": .double(0.25), "n": .int(Int64(index))] }
            if index % 11 == 5 {
                message.attachments = [Attachment(uri: "s3://bucket/\(index).png", mimeType: "image/png", size: 2048, name: "shot.png")]
                message.contentType = "text/markdown"
            }
            if index % 13 == 6 { message.status = .incomplete }
            if index % 9 == 8 { message.tokens = 17 }
            // Every sixth message arrives late: created before ones already stored.
            if index % 6 == 5 { message.createdAt = clock.now.adding(seconds: -20) }
            try database.append(message, to: id)
        }
        let newest = try database.messages(in: ids[0], .newest(1))
        if let last = newest.first { try database.markRead(user: "alice", conversation: ids[0], through: last.id) }
        try database.setState(.conversation(ids[0]), value: Array(#"{"step":"lookup"}"#.utf8), ttl: 3600)
        try database.setState(.custom("session/alice"), value: [1, 2, 3], ttl: 60)
        try database.setStatus(.archived, of: ids[2])
        return ids
    }

    /// The entries of an engine tree in the database on `disk`, which must be closed.
    public static func entries(of tree: String, on disk: SimulatedDisk) throws -> [(key: [UInt8], value: [UInt8])] {
        var options = DatabaseOptions()
        options.backgroundWork = false
        options.logPreallocation = 16 << 10
        let engine = try Engine.open(path: FuzzDatabase.path, options: options, fileSystem: SimulatedFileSystem(disk: disk))
        defer { try? engine.close() }
        return try engine.read { snapshot in
            var out: [(key: [UInt8], value: [UInt8])] = []
            let cursor = try snapshot.cursor(tree)
            var entry = try cursor.first()
            while let (key, value) = entry {
                out.append((key, value))
                entry = try cursor.next()
            }
            return out
        }
    }
}
