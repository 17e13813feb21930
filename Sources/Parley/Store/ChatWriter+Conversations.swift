// Creating, changing and deleting conversations and their participants.

extension ChatWriter {
    /// Creates a conversation and returns its new id. Every participant must be a stored user;
    /// `platform` and `externalID` come together or not at all, and are unique together.
    public func createConversation(_ new: NewConversation) throws -> ConversationID {
        // Distinct by bytes (as handles are stored), in byte order.
        var seen = Set<[UInt8]>()
        var handles = new.participants.filter { seen.insert(Array($0.utf8)).inserted }
        handles.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        guard !handles.isEmpty else { throw ParleyError.noParticipants }
        try checkParticipantLimit(handles.count)
        for handle in handles {
            try validateName(handle, "a handle")
            try requireUser(handle)
        }
        guard (new.platform == nil) == (new.externalID == nil) else {
            throw ParleyError.invalidArgument("platform and external id must be given together")
        }
        var externalKey: [UInt8]?
        if let platform = new.platform, let externalID = new.externalID {
            try validateName(platform, "a platform")
            try validateName(externalID, "an external id")
            let key = Key.external(platform: platform, externalID: externalID)
            if try storage({ try view.get(Tree.external, key) }) != nil {
                throw ParleyError.duplicateExternalID(platform: platform, externalID: externalID)
            }
            externalKey = key
        }
        try validateTitle(new.title)
        try validateMetadata(new.metadata)

        var generator = SystemRandomNumberGenerator()
        var id = ConversationID.random(using: &generator)
        while try record(id) != nil { id = ConversationID.random(using: &generator) }
        var record = ConversationRecord(
            platform: new.platform, externalID: new.externalID, title: new.title, status: .new,
            createdAt: new.createdAt ?? now, metadata: new.metadata)
        record.members = handles.map { Member(handle: $0) }
        // The id and the external key were checked free above; the index keys hold the new id.
        try insertNew(Tree.conversations, id.bytes, record.encoded())
        if let externalKey { try insertNew(Tree.external, externalKey, id.bytes) }
        try insertNew(Tree.status, Key.status(record.status, record.lastActivity, id), [])
        for handle in handles { try insertNew(Tree.inbox, Key.inbox(handle, record.lastActivity, id), []) }
        return id
    }

    private func checkParticipantLimit(_ count: Int) throws {
        guard count <= Limits.maximumParticipants else {
            throw ParleyError.invalidArgument("a conversation has at most \(Limits.maximumParticipants) participants")
        }
    }

    /// Sets a conversation's status.
    public func setStatus(_ status: ConversationStatus, of id: ConversationID) throws {
        let old = try requireRecord(id)
        var record = old
        record.status = status
        guard record != old else { return }
        try saveRecord(record, id)
        try moveIndexes(id, from: old, to: record)
    }

    /// Sets or clears a conversation's title.
    public func setTitle(_ title: String?, of id: ConversationID) throws {
        var record = try requireRecord(id)
        try validateTitle(title)
        record.title = title
        try saveRecord(record, id)
    }

    /// Sets or clears a conversation's metadata.
    public func setMetadata(_ metadata: Metadata?, of id: ConversationID) throws {
        var record = try requireRecord(id)
        try validateMetadata(metadata)
        record.metadata = metadata
        try saveRecord(record, id)
    }

    /// Adds a stored user to a conversation; false when they already take part. The new
    /// participant has no read marker, so every message counts as unread for them.
    @discardableResult
    public func addParticipant(_ handle: String, to id: ConversationID) throws -> Bool {
        var record = try requireRecord(id)
        try requireUser(handle)
        if record.memberIndex(handle) != nil { return false }
        try checkParticipantLimit(record.members.count + 1)
        record.members.insert(Member(handle: handle), at: record.memberInsertionIndex(handle))
        try saveRecord(record, id)
        try put(Tree.inbox, Key.inbox(handle, record.lastActivity, id), [])
        return true
    }

    /// Removes a participant with their inbox entry and read marker. The last participant cannot
    /// be removed (delete the conversation instead).
    public func removeParticipant(_ handle: String, from id: ConversationID) throws {
        var record = try requireRecord(id)
        guard let index = record.memberIndex(handle) else { throw ParleyError.notAParticipant(user: handle, conversation: id) }
        guard record.members.count > 1 else { throw ParleyError.noParticipants }
        record.members.remove(at: index)
        try saveRecord(record, id)
        try delete(Tree.inbox, Key.inbox(handle, record.lastActivity, id))
    }

    /// Deletes a conversation with its messages, participants' inbox entries and read markers,
    /// and its state. A corrupt block does not stop it (its messages go with it).
    public func deleteConversation(_ id: ConversationID) throws {
        let record = try requireRecord(id)
        var counters = try self.counters()
        // Pending messages: their locator entries and their share of the counters.
        for entry in try storage({ try view.entries(Tree.pending, prefix: id.bytes) }) {
            if let position = Key.position(inMessageKey: entry.key) { try delete(Tree.locator, Key.locator(position.id)) }
            counters.rawBytes -= Int64(entry.value.count)
            counters.storedBytes -= Int64(entry.value.count)
        }
        for (key, value) in try storage({ try view.entries(Tree.blocks, prefix: id.bytes) }) {
            guard let header = try? BlockHeader(decoding: value, conversation: id) else { continue }
            counters.rawBytes -= Int64(header.rawLength)
            counters.storedBytes -= Int64(header.storedLength)
            guard let body = try storage({ try view.get(Tree.blockData, key) }),
                let messages = try? BlockCodec.decode(header: header, body: body, conversation: id, dictionaries: dictionaries)
            else { continue }
            for message in messages { try delete(Tree.locator, Key.locator(message.id)) }
        }
        counters.messages -= record.messageCount
        counters.tokens -= record.tokenTotal
        try saveCounters(counters)
        for tree in [Tree.pending, Tree.blocks, Tree.blockData, Tree.system] { try deletePrefix(tree, id.bytes) }
        for member in record.members { try delete(Tree.inbox, Key.inbox(member.handle, record.lastActivity, id)) }
        if let platform = record.platform, let externalID = record.externalID {
            try delete(Tree.external, Key.external(platform: platform, externalID: externalID))
        }
        try delete(Tree.status, Key.status(record.status, record.lastActivity, id))
        try removeState(Key.state(.conversation(id)))
        try delete(Tree.conversations, id.bytes)
    }
}
