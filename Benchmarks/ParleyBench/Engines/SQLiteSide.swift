// The SQLite side: the schema of BENCHMARK.md, WAL, the pragmas an expert would set, every
// statement prepared once and reused, and the same transaction boundaries as ParleyDB.

import CSQLite
import Parley
import ParleyEngine
import ParleyInterchange

/// One message ready to append: everything converted before the clock starts.
struct SQLiteAppend: Sendable {
    let conversation: Int64
    let createdAt: Int64
    let sender: Int64
    let role: Int64
    let tokens: Int64
    let text: String
    /// Canonical JSON (keys in byte order), as ParleyInterchange writes it.
    let metadataJSON: String?
}

/// A message as read back, every column decoded.
struct SQLiteMessage {
    let id: Int64
    let createdAt: Int64
    let sender: String
    let role: Int64
    let contentType: String
    let tokens: Int64
    let text: String
    let metadataJSON: String?
}

struct SQLiteInboxEntry {
    let conversation: Int64
    let platform: String?
    let externalID: String?
    let status: Int64
    let lastActivity: Int64
    let messageCount: Int64
    let lastText: String?
    let lastSender: String?
    let lastCreatedAt: Int64?
    let unread: Int64
}

/// One connection with its prepared statements. Used by one thread at a time (ingest-durable
/// gives each of its threads its own), which is why it may be handed to a thread.
final class SQLiteSide: @unchecked Sendable {
    static let name = "SQLite"

    static let schema = """
        CREATE TABLE users(id INTEGER PRIMARY KEY, handle TEXT UNIQUE NOT NULL);
        CREATE TABLE conversations(id INTEGER PRIMARY KEY, uuid BLOB UNIQUE NOT NULL, platform TEXT,
          external_id TEXT, status INTEGER, created_at INTEGER, last_activity INTEGER,
          message_count INTEGER, metadata BLOB);
        CREATE UNIQUE INDEX conversations_external ON conversations(platform, external_id);
        CREATE TABLE members(user_id INTEGER, conversation_id INTEGER, last_activity INTEGER,
          last_read_at INTEGER, PRIMARY KEY(user_id, conversation_id)) WITHOUT ROWID;
        CREATE INDEX members_inbox ON members(user_id, last_activity DESC);
        CREATE INDEX members_conversation ON members(conversation_id);
        CREATE TABLE messages(id INTEGER PRIMARY KEY, conversation_id INTEGER NOT NULL,
          created_at INTEGER NOT NULL, sender_id INTEGER, role INTEGER, content_type TEXT,
          tokens INTEGER, body TEXT, metadata BLOB);
        CREATE INDEX messages_conversation_time ON messages(conversation_id, created_at);
        CREATE TABLE state(conversation_id INTEGER PRIMARY KEY, expires_at INTEGER, value BLOB);
        """

    static let recentSQL = """
        SELECT m.id, m.created_at, u.handle, m.role, m.content_type, m.tokens, m.body, m.metadata
        FROM messages AS m JOIN users AS u ON u.id = m.sender_id
        WHERE m.conversation_id = ?1 ORDER BY m.created_at DESC, m.id DESC LIMIT ?2
        """
    static let rangeSQL = """
        SELECT m.id, m.created_at, u.handle, m.role, m.content_type, m.tokens, m.body, m.metadata
        FROM messages AS m JOIN users AS u ON u.id = m.sender_id
        WHERE m.conversation_id = ?1 AND m.created_at >= ?2 AND m.created_at < ?3
        ORDER BY m.created_at, m.id
        """
    /// The user's conversations by `members_inbox`, each one's newest message by
    /// `messages_conversation_time`, and the messages newer than the user's last_read_at.
    static let inboxSQL = """
        SELECT c.id, c.platform, c.external_id, c.status, c.last_activity, c.message_count,
          lm.body, lu.handle, lm.created_at,
          (SELECT count(*) FROM messages AS n
           WHERE n.conversation_id = c.id AND n.created_at > mb.last_read_at) AS unread
        FROM members AS mb
        JOIN conversations AS c ON c.id = mb.conversation_id
        LEFT JOIN messages AS lm ON lm.id = (SELECT id FROM messages
          WHERE conversation_id = c.id ORDER BY created_at DESC, id DESC LIMIT 1)
        LEFT JOIN users AS lu ON lu.id = lm.sender_id
        WHERE mb.user_id = ?1
        ORDER BY mb.last_activity DESC
        LIMIT ?2
        """

    let connection: SQLiteConnection
    private let begin: Statement
    private let commit: Statement
    private let insertMessage: Statement
    private let touchConversation: Statement
    private let touchMembers: Statement
    private let recentQuery: Statement
    private let rangeQuery: Statement
    private let inboxQuery: Statement
    private let stateSet: Statement
    private let stateGet: Statement

    /// How a connection is opened.
    struct Settings {
        /// NORMAL for ingest-tx/batch and state, FULL for ingest-durable.
        var synchronous = "NORMAL"
        /// Pages in the WAL before an automatic checkpoint (SQLite's default 1000; 0 turns it off).
        var autocheckpoint = 1000
        /// Milliseconds a connection waits for another's write lock (ingest-durable's threads).
        var busyTimeoutMillis = 0
        var vfs: String?
    }

    /// Opens `path`, creating the schema when the file is new.
    init(path: String, settings: Settings = Settings()) throws {
        let connection = try SQLiteConnection(path: path, vfs: settings.vfs)
        self.connection = connection
        guard try connection.scalar("PRAGMA journal_mode=WAL")?.lowercased() == "wal" else {
            throw BenchError("SQLite refused WAL mode for \(path)")
        }
        try connection.execute("PRAGMA synchronous=\(settings.synchronous)")
        _ = try connection.scalar("PRAGMA mmap_size=\(256 << 20)")
        try connection.execute("PRAGMA cache_size=-\(64 << 10)")
        _ = try connection.scalar("PRAGMA wal_autocheckpoint=\(settings.autocheckpoint)")
        if settings.busyTimeoutMillis > 0 { sqlite3_busy_timeout(connection.handle, Int32(settings.busyTimeoutMillis)) }
        if try connection.scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'messages'") == "0" {
            try connection.execute(Self.schema)
        }
        // IMMEDIATE: take the write lock at BEGIN, so that concurrent writers wait in the busy
        // handler instead of failing on a lock upgrade.
        begin = try connection.prepare("BEGIN IMMEDIATE")
        commit = try connection.prepare("COMMIT")
        insertMessage = try connection.prepare("""
            INSERT INTO messages(conversation_id, created_at, sender_id, role, content_type, tokens, body, metadata)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
            """)
        touchConversation = try connection.prepare("""
            UPDATE conversations SET last_activity = max(last_activity, ?2), message_count = message_count + 1, status = 1
            WHERE id = ?1
            """)
        // Every member's inbox position, and the sender's read position (so unread counts agree
        // with ParleyDB, whose append moves the sender's read marker).
        touchMembers = try connection.prepare("""
            UPDATE members SET last_activity = max(last_activity, ?2),
              last_read_at = CASE WHEN user_id = ?3 THEN max(last_read_at, ?2) ELSE last_read_at END
            WHERE conversation_id = ?1
            """)
        recentQuery = try connection.prepare(Self.recentSQL)
        rangeQuery = try connection.prepare(Self.rangeSQL)
        inboxQuery = try connection.prepare(Self.inboxSQL)
        stateSet = try connection.prepare("""
            INSERT INTO state(conversation_id, expires_at, value) VALUES (?1, ?2, ?3)
            ON CONFLICT(conversation_id) DO UPDATE SET expires_at = excluded.expires_at, value = excluded.value
            """)
        stateGet = try connection.prepare("SELECT value FROM state WHERE conversation_id = ?1 AND expires_at > ?2")
    }

    static func roleCode(_ role: Role) -> Int64 {
        switch role {
        case .user: return 0
        case .assistant: return 1
        case .system: return 2
        case .tool: return 3
        }
    }

    // MARK: - Setup

    /// Users and conversations (with their members), in transactions of 10,000 conversations.
    func setup(_ population: Population, seed: UInt64) throws {
        let insertUser = try connection.prepare("INSERT INTO users(id, handle) VALUES (?1, ?2)")
        let insertConversation = try connection.prepare("""
            INSERT INTO conversations(id, uuid, platform, external_id, status, created_at, last_activity, message_count, metadata)
            VALUES (?1, ?2, ?3, ?4, 0, ?5, ?5, 0, NULL)
            """)
        let insertMember = try connection.prepare(
            "INSERT INTO members(user_id, conversation_id, last_activity, last_read_at) VALUES (?1, ?2, ?3, 0)")
        defer {
            insertUser.finalize()
            insertConversation.finalize()
            insertMember.finalize()
        }
        try transaction {
            for user in 0..<population.userCount {
                insertUser.bind(1, Self.userID(user))
                insertUser.bind(2, population.handle(of: user))
                try insertUser.run()
            }
        }
        var random = SplitMix64(seed: seed, stream: RandomStream.uuids.rawValue)
        var start = 0
        while start < population.conversations.count {
            let end = min(start + 10_000, population.conversations.count)
            try transaction {
                for index in start..<end {
                    let plan = population.conversations[index]
                    var uuid = (0..<2).flatMap { _ in withUnsafeBytes(of: random.next()) { Array($0) } }
                    uuid[6] = (uuid[6] & 0x0F) | 0x40
                    uuid[8] = (uuid[8] & 0x3F) | 0x80
                    insertConversation.bind(1, Self.conversationID(index))
                    insertConversation.bind(2, blob: uuid)
                    insertConversation.bind(3, Population.platforms[plan.platform])
                    insertConversation.bind(4, population.externalID(of: index))
                    insertConversation.bind(5, plan.createdAt)
                    try insertConversation.run()
                    for member in plan.members {
                        insertMember.bind(1, Self.userID(Int(member)))
                        insertMember.bind(2, Self.conversationID(index))
                        insertMember.bind(3, plan.createdAt)
                        try insertMember.run()
                    }
                }
            }
            start = end
        }
    }

    /// Row ids are population indexes + 1.
    static func userID(_ user: Int) -> Int64 { Int64(user) + 1 }
    static func conversationID(_ conversation: Int) -> Int64 { Int64(conversation) + 1 }

    static func prepare(_ message: GeneratedMessage) -> SQLiteAppend {
        SQLiteAppend(
            conversation: conversationID(message.conversation), createdAt: message.createdAt, sender: userID(message.sender),
            role: roleCode(message.role), tokens: Int64(message.tokens), text: message.text,
            metadataJSON: message.metadata.map(JSONText.string))
    }

    // MARK: - Writes

    /// Runs `body` in one BEGIN IMMEDIATE ... COMMIT transaction (rolled back if it throws).
    func transaction(_ body: () throws -> Void) throws {
        try begin.run()
        do {
            try body()
            try commit.run()
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// The three statements of one append; call inside a transaction.
    func appendInTransaction(_ item: SQLiteAppend) throws {
        insertMessage.bind(1, item.conversation)
        insertMessage.bind(2, item.createdAt)
        insertMessage.bind(3, item.sender)
        insertMessage.bind(4, item.role)
        insertMessage.bind(5, "text/plain")
        insertMessage.bind(6, item.tokens)
        insertMessage.bind(7, item.text)
        insertMessage.bind(8, item.metadataJSON)
        try insertMessage.run()
        touchConversation.bind(1, item.conversation)
        touchConversation.bind(2, item.createdAt)
        try touchConversation.run()
        touchMembers.bind(1, item.conversation)
        touchMembers.bind(2, item.createdAt)
        touchMembers.bind(3, item.sender)
        try touchMembers.run()
    }

    func append(_ item: SQLiteAppend) throws {
        try transaction { try appendInTransaction(item) }
    }

    func appendBatch(_ items: [SQLiteAppend]) throws {
        try transaction {
            for item in items { try appendInTransaction(item) }
        }
    }

    // MARK: - Reads

    private func readMessages(_ statement: Statement) throws -> [SQLiteMessage] {
        defer { statement.reset() }
        var out: [SQLiteMessage] = []
        while try statement.step() {
            out.append(SQLiteMessage(
                id: statement.int64(0), createdAt: statement.int64(1), sender: statement.text(2), role: statement.int64(3),
                contentType: statement.text(4), tokens: statement.int64(5), text: statement.text(6),
                metadataJSON: statement.optionalText(7)))
        }
        return out
    }

    func recent(_ conversation: Int) throws -> [SQLiteMessage] {
        recentQuery.bind(1, Self.conversationID(conversation))
        recentQuery.bind(2, Int64(WorkloadConstants.recentLimit))
        return try readMessages(recentQuery)
    }

    func range(_ conversation: Int, from: Int64, to: Int64) throws -> [SQLiteMessage] {
        rangeQuery.bind(1, Self.conversationID(conversation))
        rangeQuery.bind(2, from)
        rangeQuery.bind(3, to)
        return try readMessages(rangeQuery)
    }

    func inbox(_ user: Int) throws -> [SQLiteInboxEntry] {
        inboxQuery.bind(1, Self.userID(user))
        inboxQuery.bind(2, Int64(WorkloadConstants.inboxLimit))
        defer { inboxQuery.reset() }
        var out: [SQLiteInboxEntry] = []
        while try inboxQuery.step() {
            let q = inboxQuery
            out.append(SQLiteInboxEntry(
                conversation: q.int64(0), platform: q.optionalText(1), externalID: q.optionalText(2), status: q.int64(3),
                lastActivity: q.int64(4), messageCount: q.int64(5), lastText: q.optionalText(6), lastSender: q.optionalText(7),
                lastCreatedAt: q.isNull(8) ? nil : q.int64(8), unread: q.int64(9)))
        }
        return out
    }

    // MARK: - State

    /// One upsert in its own (autocommit) transaction.
    func setState(_ conversation: Int, _ value: [UInt8], now: Int64) throws {
        stateSet.bind(1, Self.conversationID(conversation))
        stateSet.bind(2, now + Int64(WorkloadConstants.stateTTLSeconds * 1_000_000))
        stateSet.bind(3, blob: value)
        try stateSet.run()
    }

    func state(_ conversation: Int, now: Int64) throws -> [UInt8]? {
        stateGet.bind(1, Self.conversationID(conversation))
        stateGet.bind(2, now)
        defer { stateGet.reset() }
        guard try stateGet.step() else { return nil }
        return stateGet.blob(0)
    }

    // MARK: - Totals and closing

    func totalMessages() throws -> Int { Int(try connection.scalar("SELECT count(*) FROM messages") ?? "0") ?? 0 }

    func messageCount(_ conversation: Int) throws -> (stored: Int, counted: Int) {
        let id = Self.conversationID(conversation)
        let stored = Int(try connection.scalar("SELECT message_count FROM conversations WHERE id = \(id)") ?? "") ?? -1
        let counted = Int(try connection.scalar("SELECT count(*) FROM messages WHERE conversation_id = \(id)") ?? "") ?? -1
        return (stored, counted)
    }

    /// The query plans of the timed statements, for the README and for a check that every one
    /// uses its index.
    func plans() throws -> [(name: String, plan: [String])] {
        try [("recent", Self.recentSQL), ("range", Self.rangeSQL), ("inbox", Self.inboxSQL)].map { name, sql in
            let explain = try connection.prepare("EXPLAIN QUERY PLAN " + sql)
            defer { explain.finalize() }
            var lines: [String] = []
            while try explain.step() { lines.append(explain.text(3)) }
            return (name, lines)
        }
    }

    /// `wal_checkpoint(PASSIVE)`: as much of the WAL as no reader needs, moved into the file.
    func checkpointPassive() throws {
        _ = try connection.scalar("PRAGMA wal_checkpoint(PASSIVE)")
    }

    /// `wal_checkpoint(TRUNCATE)`: the WAL moved into the database file and cut to zero bytes.
    func checkpointTruncate() throws {
        _ = try connection.scalar("PRAGMA wal_checkpoint(TRUNCATE)")
    }

    func close() throws {
        for statement in [begin, commit, insertMessage, touchConversation, touchMembers, recentQuery, rangeQuery, inboxQuery,
                          stateSet, stateGet] {
            statement.finalize()
        }
        try connection.close()
    }

    static var libraryVersion: String { String(cString: sqlite3_libversion()) }
}
