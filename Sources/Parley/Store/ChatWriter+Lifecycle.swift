// Lifecycle work: archiving idle conversations and purging old messages.

extension ChatWriter {
    /// Archives every `new` or `active` conversation with no activity for `days` days; returns how
    /// many it archived.
    @discardableResult
    public func archiveConversations(inactiveForDays days: Double) throws -> Int {
        guard days >= 0, days.isFinite else { throw ParleyError.invalidArgument("days must be a non-negative number") }
        let cutoff = now.adding(seconds: -days * 86_400)
        var archived = 0
        for status in [ConversationStatus.new, .active] {
            let end = Key.status(status, cutoff, ConversationID(uncheckedBytes: [UInt8](repeating: 0, count: 16)))
            let entries = try storage { try view.entries(Tree.status, from: [status.code], to: end) }
            for entry in entries {
                guard entry.key.count == 25, let id = ConversationID(bytes: Array(entry.key[9...])) else {
                    throw ParleyError.corruptRecord(tree: Tree.status, reason: "a key must be 25 bytes")
                }
                try setStatus(.archived, of: id)
                archived += 1
            }
        }
        return archived
    }

    /// Deletes every message created more than `days` days ago, in every conversation; returns
    /// how many. Blocks wholly older are dropped; a block across the cutoff is rewritten.
    /// Conversations keep their last activity; read markers stay where they were (and count only
    /// the messages that are left).
    @discardableResult
    public func purgeMessages(olderThanDays days: Double) throws -> Int {
        guard days >= 0, days.isFinite else { throw ParleyError.invalidArgument("days must be a non-negative number") }
        let cutoff = now.adding(seconds: -days * 86_400)
        var purged = 0
        for entry in try storage({ try view.entries(Tree.conversations, from: [], to: nil) }) {
            guard let id = ConversationID(bytes: entry.key) else {
                throw ParleyError.corruptRecord(tree: Tree.conversations, reason: "a key must be 16 bytes")
            }
            purged += try purge(id, before: cutoff)
        }
        return purged
    }

    /// Deletes one conversation's messages created before `cutoff`.
    func purge(_ id: ConversationID, before cutoff: Timestamp) throws -> Int {
        var record = try requireRecord(id)
        var counters = try self.counters()
        var removed: [Message] = []
        var end = id.bytes
        Key.appendBE(orderedBits(cutoff), to: &end)
        for entry in try storage({ try view.entries(Tree.pending, from: id.bytes, to: end) }) {
            guard let position = Key.position(inMessageKey: entry.key) else { continue }
            removed.append(try MessageCodec.decodePending(entry.value, conversation: id, position: position))
            counters.rawBytes -= Int64(entry.value.count)
            counters.storedBytes -= Int64(entry.value.count)
            try delete(Tree.pending, entry.key)
        }
        for (key, value) in try storage({ try view.entries(Tree.blocks, from: id.bytes, to: end) }) {
            let header = try BlockHeader(decoding: value, conversation: id)
            guard let body = try storage({ try view.get(Tree.blockData, key) }) else {
                throw ParleyError.corruptBlock(conversation: id, reason: "block body missing")
            }
            let messages = try BlockCodec.decode(header: header, body: body, conversation: id, dictionaries: dictionaries)
            counters.rawBytes -= Int64(header.rawLength)
            counters.storedBytes -= Int64(header.storedLength)
            try delete(Tree.blocks, key)
            try delete(Tree.blockData, key)
            let kept = messages.filter { $0.createdAt >= cutoff }
            removed += messages.filter { $0.createdAt < cutoff }
            if !kept.isEmpty {
                // The boundary block: what is left is written back under its new first key.
                let block = BlockCodec.encode(kept, full: header.full, compressor: try currentCompressor())
                let newKey = Key.message(id, block.header.first)
                try put(Tree.blocks, newKey, block.header.encoded())
                try put(Tree.blockData, newKey, block.body)
                counters.rawBytes += Int64(block.header.rawLength)
                counters.storedBytes += Int64(block.header.storedLength)
            }
        }
        guard !removed.isEmpty else { return 0 }
        for message in removed {
            try delete(Tree.locator, Key.locator(message.id))
            if message.role == .system { try delete(Tree.system, Key.message(id, message.position)) }
            record.messageCount -= 1
            record.tokenTotal -= Int64(message.tokens)
            counters.messages -= 1
            counters.tokens -= Int64(message.tokens)
        }
        // The newest message may have gone (when every one did); the high-water mark stays.
        let newest = try storage { try messageStream(id, forward: false, from: nil).next() }
        record.lastPosition = newest?.position
        record.lastMessage = newest.map { MessageCodec.encodePending($0) }
        adjustMarkers(for: removed.map(\.position).sorted(), by: -1, in: &record)
        try saveRecord(record, id)
        try saveCounters(counters)
        return removed.count
    }
}
