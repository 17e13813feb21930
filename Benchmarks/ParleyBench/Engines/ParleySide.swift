// The ParleyDB side: the chat store's public API used as its README shows, one `Database` for the
// whole run (it is Sendable; ingest-durable's threads share it).

import Parley

/// One message ready to append: everything converted before the clock starts.
struct ParleyAppend: Sendable {
    let message: NewMessage
    let conversation: ConversationID
}

final class ParleySide {
    static let name = "ParleyDB"
    let directory: String
    let path: String
    let syncs = SyncCounter()
    private(set) var database: Database?
    /// Conversation ids by population index (the database makes the UUIDs).
    private(set) var ids: [ConversationID] = []

    init(directory: String) {
        self.directory = directory
        path = directory + "/chat.parley"
    }

    /// The options of the run: normal durability by default (ingest-durable asks for full per
    /// write), everything else as shipped.
    static func options(syncs: SyncCounter?) -> Database.Options {
        var options = Database.Options(durability: .normal)
        if let syncs { options.fileSystem = SyncCountingFileSystem(counter: syncs) }
        return options
    }

    var memtableBudget: Int { Self.options(syncs: nil).engine.memtableBudget }

    func open() throws {
        database = try Database.open(path: path, options: Self.options(syncs: syncs))
    }

    func db() throws -> Database {
        guard let database else { throw BenchError("the ParleyDB database is not open") }
        return database
    }

    /// Users and conversations, in transactions of 10,000 conversations.
    func setup(_ population: Population) throws {
        let db = try db()
        try db.write { chat in
            for user in 0..<population.userCount { try chat.upsertUser(population.handle(of: user)) }
        }
        ids.reserveCapacity(population.conversations.count)
        var start = 0
        while start < population.conversations.count {
            let end = min(start + 10_000, population.conversations.count)
            let made = try db.write { chat -> [ConversationID] in
                try (start..<end).map { index in
                    let plan = population.conversations[index]
                    return try chat.createConversation(NewConversation(
                        participants: plan.members.map { population.handle(of: Int($0)) },
                        platform: Population.platforms[plan.platform], externalID: population.externalID(of: index),
                        createdAt: Timestamp(microseconds: plan.createdAt)))
                }
            }
            ids += made
            start = end
        }
    }

    func prepare(_ message: GeneratedMessage, _ population: Population) -> ParleyAppend {
        ParleyAppend(
            message: NewMessage(
                sender: population.handle(of: message.sender), role: message.role, text: message.text,
                contentType: "text/plain", tokens: message.tokens, createdAt: Timestamp(microseconds: message.createdAt),
                metadata: message.metadata),
            conversation: ids[message.conversation])
    }

    static func append(_ item: ParleyAppend, to db: Database, durability: Durability? = nil) throws {
        _ = try db.write(durability: durability) { try $0.append(item.message, to: item.conversation) }
    }

    func appendBatch(_ items: [ParleyAppend]) throws {
        try db().write { chat in
            for item in items { try chat.append(item.message, to: item.conversation) }
        }
    }

    func recent(_ conversation: Int) throws -> [Message] {
        try db().messages(in: ids[conversation], .newest(WorkloadConstants.recentLimit))
    }

    func range(_ conversation: Int, from: Int64, to: Int64) throws -> [Message] {
        let window = Timestamp(microseconds: from)..<Timestamp(microseconds: to)
        return try db().messages(in: ids[conversation], MessageQuery(order: .oldestFirst, timeRange: window))
    }

    func inbox(_ handle: String) throws -> [InboxEntry] {
        try db().inbox(of: handle, InboxQuery(limit: WorkloadConstants.inboxLimit))
    }

    func setState(_ conversation: Int, _ value: [UInt8]) throws {
        try db().setState(.conversation(ids[conversation]), value: value, ttl: WorkloadConstants.stateTTLSeconds)
    }

    func state(_ conversation: Int) throws -> [UInt8]? {
        try db().state(.conversation(ids[conversation]))?.value
    }

    func totalMessages() throws -> Int { try db().stats().messages }

    func messageCount(_ conversation: Int) throws -> Int {
        try db().read { try $0.messageCount(in: ids[conversation]) }
    }

    func checkpoint() throws { try db().checkpoint() }

    func close() throws {
        try database?.close()
        database = nil
    }
}
