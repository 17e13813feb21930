// JSON Lines export: one conversation per line, streamed to a sink a piece at a time.

import Parley

/// Exports conversations as JSON Lines that ``Importer`` reads back.
///
/// Every conversation (or those of ``ExportOptions/conversations``, in that order) is one line
/// of compact JSON. Conversations are ordered by the identity their line carries: first those
/// written with an `id`, by that id's UTF-8 bytes, then those with a platform, by platform and
/// external id. (Not by conversation id: an import makes new ids, and the order must survive
/// the round trip.) Keys come in this order:
///
/// - `id`: the conversation's id (its UUID), or, for a conversation an import made from a
///   foreign id (platform ``Importer/foreignIDPlatform``), that foreign id. Not written when the
///   conversation has another platform: then `platform` and `external_id` are its identity.
/// - `platform`, `external_id`: when set (and the platform is not `"import"`).
/// - `title`: when set. `status`: always. `participants`: in byte order.
/// - `metadata`: when set (object keys in UTF-8 byte order).
/// - `messages`: oldest first, each with `sender`, `role`, `text`, `created_at` (integer
///   microseconds), `content_type` (unless `text/plain`), `tokens`, `status` (unless
///   `complete`), `metadata` (when set), `attachments` (when any: `uri`, `mime_type`, `size`,
///   `name` when set).
///
/// **Round trip.** Export → import into another database → export gives the same bytes: a
/// conversation without a platform is exported with `"id": <uuid>`, imported as ("import",
/// uuid), and exported again as `"id": <uuid>`; one with a platform is matched by (platform,
/// external id); lines are ordered by these identities, which an import keeps; everything else
/// is written as stored. Strings are escaped one way only (`"` and `\` with a backslash; `\b`,
/// `\t`, `\n`, `\f`, `\r`; other controls as `\u00XX`; everything else as UTF-8), integers
/// exactly, doubles in their shortest round-trip form. Not exported: user records (display
/// names, user metadata), read markers, state, and conversations' creation times (an import
/// takes the earliest message's). Metadata holding an infinity or NaN, which JSON cannot hold,
/// is written as `null`.
///
/// Each conversation is read on its own snapshot, a page of messages at a time; output goes to
/// the sink in pieces of about ``ExportOptions/bufferBytes``, so memory holds one page and one
/// piece however large a conversation is, plus the list of conversation ids (and, for a full
/// export, their identities, to sort them) made at the start.
public enum Exporter {
    /// Exports to `sink`, which receives the output in order, in pieces.
    @discardableResult
    public static func export(
        from database: Database, options: ExportOptions = ExportOptions(), to sink: ([UInt8]) throws -> Void
    ) throws -> ExportSummary {
        guard options.pageSize > 0 else { throw ParleyError.invalidArgument("pageSize must be positive") }
        let explicit = options.conversations != nil
        let ids = try options.conversations ?? allConversationIDs(database)
        var summary = ExportSummary()
        var writer = JSONWriter(reservingCapacity: options.bufferBytes + 4096)
        var throttle = ProgressThrottle(interval: options.progressInterval)
        func drain(force: Bool) throws {
            guard !writer.bytes.isEmpty, force || writer.bytes.count >= options.bufferBytes else { return }
            try sink(writer.bytes)
            summary.bytesWritten += writer.bytes.count
            writer.bytes.removeAll(keepingCapacity: true)
        }
        func report() {
            options.progress?(
                ExportProgress(conversations: summary.conversations, totalConversations: ids.count, bytesWritten: summary.bytesWritten))
        }
        for id in ids {
            let found = try database.read { reader -> Bool in
                guard let conversation = try reader.conversation(id) else { return false }
                ConversationLineWriter.writeHead(conversation, into: &writer)
                var cursor: MessagePosition?
                while true {
                    let page = try reader.messages(in: id, MessageQuery(order: .oldestFirst, limit: options.pageSize, after: cursor))
                    for message in page {
                        ConversationLineWriter.writeMessage(message, into: &writer)
                        try drain(force: false)
                    }
                    summary.messages += page.count
                    guard page.count == options.pageSize, let last = page.last else { break }
                    cursor = last.position
                }
                ConversationLineWriter.writeEnd(into: &writer)
                return true
            }
            if !found {
                // Deleted since the listing; an id the caller named must exist.
                if explicit { throw ParleyError.unknownConversation(id) }
                continue
            }
            summary.conversations += 1
            try drain(force: false)
            if options.progress != nil, throttle.due() { report() }
        }
        try drain(force: true)
        report()
        return summary
    }

    /// Exports to the file at `path` (created, or replaced).
    @discardableResult
    public static func exportFile(
        from database: Database, path: String, options: ExportOptions = ExportOptions()
    ) throws -> ExportSummary {
        let file = try FileSink(path: path)
        let summary = try export(from: database, options: options) { try file.write($0) }
        try file.close()
        return summary
    }

    /// Exports into memory (for tests, tools and small databases).
    public static func exportBytes(from database: Database, options: ExportOptions = ExportOptions()) throws -> [UInt8] {
        var out: [UInt8] = []
        try export(from: database, options: options) { out.append(contentsOf: $0) }
        return out
    }

    /// Every conversation id, in export order: by the identity a line carries (its `id`, or its
    /// platform and external id), which an import keeps, so a re-export lists conversations in
    /// the same order even though the database made new conversation ids. Only the sort keys are
    /// held, read a page of conversations at a time.
    static func allConversationIDs(_ database: Database) throws -> [ConversationID] {
        let keyed = try database.read { reader in
            var keyed: [(key: [UInt8], id: ConversationID)] = []
            var after: ConversationID?
            while true {
                let page = try reader.conversations(after: after, limit: 1000)
                for conversation in page { keyed.append((exportOrderKey(conversation), conversation.id)) }
                guard let last = page.last else { break }
                after = last.id
            }
            return keyed
        }
        return keyed.sorted { a, b in
            a.key == b.key ? a.id < b.id : a.key.lexicographicallyPrecedes(b.key)
        }.map(\.id)
    }

    /// Lines written with an `id` first, by that id's UTF-8; then those with a platform, by
    /// platform and external id (each length-prefixed, so the order is a plain byte order).
    static func exportOrderKey(_ conversation: Conversation) -> [UInt8] {
        switch ConversationLineWriter.identity(of: conversation) {
        case .id(let id):
            return [0] + Array(id.utf8)
        case .platform(let platform, let externalID):
            let platformBytes = Array(platform.utf8)
            return [1, UInt8(truncatingIfNeeded: platformBytes.count >> 8), UInt8(truncatingIfNeeded: platformBytes.count)]
                + platformBytes + Array(externalID.utf8)
        }
    }
}
