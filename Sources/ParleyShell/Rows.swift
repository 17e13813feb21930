// The columns each kind of result has. These names and their JSON types are the documented,
// stable interface of the JSON output modes (README, "Output").

import Parley

enum Rows {
    static let messageColumns = [
        "id", "conversation", "created_at", "sender", "role", "text", "tokens", "content_type", "status", "metadata",
        "attachments",
    ]

    static func message(_ m: Message) -> [ShellValue] {
        let attachments: Metadata = .array(
            m.attachments.map { a in
                var fields: [String: Metadata] = ["uri": .string(a.uri), "mime_type": .string(a.mimeType), "size": .int(a.size)]
                if let name = a.name { fields["name"] = .string(name) }
                return .object(fields)
            })
        return [
            .int(Int64(clamping: m.id.rawValue)), .string(m.conversation.description), .time(m.createdAt), .string(m.sender),
            .string(m.role.rawValue), .string(m.text), .int(Int64(m.tokens)), .string(m.contentType),
            .string(m.status.rawValue), m.metadata.map { .json($0) } ?? .null, .json(attachments),
        ]
    }

    static func messages(_ list: [Message]) -> ResultSet {
        ResultSet(columns: messageColumns, rows: list.map(message))
    }

    static let conversationColumns = [
        "id", "platform", "external_id", "title", "status", "participants", "created_at", "last_activity", "messages",
        "tokens", "metadata",
    ]

    static func conversation(_ c: Conversation) -> [ShellValue] {
        [
            .string(c.id.description), c.platform.map { .string($0) } ?? .null, c.externalID.map { .string($0) } ?? .null,
            c.title.map { .string($0) } ?? .null, .string(c.status.rawValue), .json(.array(c.participants.map { .string($0) })),
            .time(c.createdAt), .time(c.lastActivity), .int(Int64(c.messageCount)), .int(Int64(c.tokenTotal)),
            c.metadata.map { .json($0) } ?? .null,
        ]
    }

    static func conversations(_ list: [Conversation]) -> ResultSet {
        ResultSet(columns: conversationColumns, rows: list.map(conversation))
    }

    static let userColumns = ["handle", "display_name", "created_at", "metadata"]

    static func users(_ list: [User]) -> ResultSet {
        ResultSet(
            columns: userColumns,
            rows: list.map { u in
                [.string(u.handle), u.displayName.map { .string($0) } ?? .null, .time(u.createdAt), u.metadata.map { .json($0) } ?? .null]
            })
    }

    static let inboxColumns = ["conversation", "title", "status", "last_activity", "unread", "last_sender", "last_text", "cursor"]

    static func inbox(_ entries: [InboxEntry]) -> ResultSet {
        ResultSet(
            columns: inboxColumns,
            rows: entries.map { e in
                [
                    .string(e.conversation.id.description), e.conversation.title.map { .string($0) } ?? .null,
                    .string(e.conversation.status.rawValue), .time(e.conversation.lastActivity), .int(Int64(e.unreadCount)),
                    e.lastMessage.map { .string($0.sender) } ?? .null, e.lastMessage.map { .string($0.text) } ?? .null,
                    .string(cursorText(e.cursor)),
                ]
            })
    }

    /// An inbox cursor as one word: `<last activity µs>:<conversation id>`.
    static func cursorText(_ cursor: InboxCursor) -> String { "\(cursor.lastActivity.microseconds):\(cursor.conversation)" }

    static func cursor(_ text: String) throws -> InboxCursor {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let micros = Int64(parts[0]), let id = ConversationID(parts[1]) else {
            throw ShellError.usage("\"\(text)\" is not an inbox cursor (<microseconds>:<conversation id>)")
        }
        return InboxCursor(lastActivity: Timestamp(microseconds: micros), conversation: id)
    }
}
