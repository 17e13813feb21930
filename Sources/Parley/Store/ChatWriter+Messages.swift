// Appending messages and marking them read. An append writes the message as one pending entry
// (it reaches a block when the store checkpoints) and moves, in the same transaction, the
// conversation's totals and last activity, every participant's inbox entry and the sender's read
// marker.

extension ChatWriter {
    /// Appends one message and returns it as stored.
    @discardableResult
    public func append(_ message: NewMessage, to conversation: ConversationID) throws -> Message {
        let stored = try append(contentsOf: [message], to: conversation)
        guard let first = stored.first else { throw ParleyError.invalidArgument("nothing was appended") }
        return first
    }

    /// Appends messages in one go (their ids increase in the order given) and returns them as
    /// stored. Either all are appended or, on an error, none.
    @discardableResult
    public func append(contentsOf messages: [NewMessage], to conversation: ConversationID) throws -> [Message] {
        let old = try requireRecord(conversation)
        guard old.status != .closed else { throw ParleyError.conversationClosed(conversation) }
        guard !messages.isEmpty else { return [] }
        var counters = try self.counters()
        let time = now
        // Handles are compared as bytes, as they are stored: Swift's String equality would
        // merge canonically equivalent spellings that are different users here.
        var senders: Set<[UInt8]> = []
        var prepared: [(message: Message, encoded: [UInt8])] = []
        prepared.reserveCapacity(messages.count)
        var nextID = counters.nextMessageID
        for new in messages {
            try validateName(new.sender, "a sender")
            if !senders.contains(Array(new.sender.utf8)) {
                guard old.memberIndex(new.sender) != nil else {
                    throw ParleyError.notAParticipant(user: new.sender, conversation: conversation)
                }
                senders.insert(Array(new.sender.utf8))
            }
            try validateName(new.contentType, "a content type")
            if let tokens = new.tokens, tokens < 0 || tokens > Int(Int32.max) {
                throw ParleyError.invalidArgument("a token count must be 0 to \(Int32.max)")
            }
            try MetadataCodec.validate(new.metadata ?? .null)
            for attachment in new.attachments {
                try validateName(attachment.mimeType, "an attachment's MIME type")
                guard attachment.size >= 0 else { throw ParleyError.invalidArgument("an attachment's size must not be negative") }
            }
            let message = Message(
                id: MessageID(rawValue: nextID), conversation: conversation, sender: new.sender, role: new.role,
                contentType: new.contentType, text: new.text, attachments: new.attachments,
                tokens: new.tokens ?? Self.estimateTokens(new.text), status: new.status,
                createdAt: new.createdAt ?? time, metadata: new.metadata)
            let encoded = MessageCodec.encodePending(message)
            let size = encoded.count - new.sender.utf8.count - 1
            guard size <= Limits.maximumMessageBytes else {
                throw ParleyError.messageTooLarge(bytes: size, maximum: Limits.maximumMessageBytes)
            }
            prepared.append((message, encoded))
            nextID += 1
        }

        var record = old
        var markers: [[UInt8]: (sender: String, position: MessagePosition)] = [:]
        for (message, encoded) in prepared {
            // The id is new (taken from the counters), so are the keys made from it.
            let key = Key.message(conversation, message.position)
            try insertNew(Tree.pending, key, encoded)
            var locator = conversation.bytes
            Key.appendBE(orderedBits(message.createdAt), to: &locator)
            try insertNew(Tree.locator, Key.locator(message.id), locator)
            if message.role == .system { try insertNew(Tree.system, key, []) }
            record.messageCount += 1
            record.tokenTotal += Int64(message.tokens)
            record.lastActivity = max(record.lastActivity, message.createdAt)
            record.lastPosition = max(record.lastPosition ?? message.position, message.position)
            record.highWater = max(record.highWater ?? message.position, message.position)
            let senderKey = Array(message.sender.utf8)
            markers[senderKey] = (message.sender, max(markers[senderKey]?.position ?? message.position, message.position))
            counters.messages += 1
            counters.tokens += Int64(message.tokens)
            counters.rawBytes += Int64(encoded.count)
            counters.storedBytes += Int64(encoded.count)
        }
        if let newest = prepared.last(where: { $0.message.position == record.lastPosition }) {
            record.lastMessage = newest.encoded
        }
        if record.status == .new || record.status == .archived { record.status = .active }
        counters.nextMessageID = nextID
        // Messages landing before the newest position may land before someone's marker.
        if let high = old.highWater {
            let early = prepared.map(\.message.position).filter { $0 < high }.sorted()
            adjustMarkers(for: early, by: 1, in: &record)
        }
        // A sender's newest message here is at or before everything this batch put after the old
        // newest position, so its rank follows from the batch alone (no block is read).
        let batch = prepared.map(\.message.position).sorted()
        for (sender, position) in markers.values {
            var rank: Int64?
            if old.highWater.map({ position > $0 }) ?? true {
                let later = batch.count - (batch.lastIndex { $0 <= position }.map { $0 + 1 } ?? 0)
                rank = record.messageCount - Int64(later)
            }
            try advanceMarker(sender, conversation, to: position, in: &record, rank: rank)
        }
        try saveCounters(counters)
        try saveRecord(record, conversation)
        try moveIndexes(conversation, from: old, to: record)
        return prepared.map(\.message)
    }

    /// The estimate used when a message comes without a token count: UTF-8 bytes / 4, rounded up.
    public static func estimateTokens(_ text: String) -> Int { (text.utf8.count + 3) / 4 }

    /// Marks every message of `conversation` up to and including `message` as read by `user`.
    /// A marker only moves forward: marking an older message changes nothing.
    public func markRead(user: String, conversation: ConversationID, through message: MessageID) throws {
        var record = try requireRecord(conversation)
        guard record.memberIndex(user) != nil else {
            try requireUser(user)
            throw ParleyError.notAParticipant(user: user, conversation: conversation)
        }
        guard let located = try locate(message), located.conversation == conversation,
            try self.message(at: located.position, in: conversation) != nil
        else { throw ParleyError.unknownMessage(message) }
        let old = record
        try advanceMarker(user, conversation, to: located.position, in: &record)
        if record != old { try saveRecord(record, conversation) }
    }
}
