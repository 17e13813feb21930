// Changing the chat store. Every public method checks all of its input before it changes
// anything, so an error it throws leaves the transaction as it was and the caller may go on.

/// The write transaction of the chat store: reads see its own changes. Use it only inside the
/// closure of ``Database/write(durability:_:)``.
public final class ChatWriter: ChatReader {
    let transaction: Transaction

    init(transaction: Transaction, store: StoreContext) {
        self.transaction = transaction
        super.init(view: transaction, store: store)
    }

    // MARK: - Engine access

    func put(_ tree: String, _ key: [UInt8], _ value: [UInt8]) throws {
        try storage { try transaction.put(tree, key, value) }
    }

    @discardableResult
    func delete(_ tree: String, _ key: [UInt8]) throws -> Bool {
        try storage { try transaction.delete(tree, key) }
    }

    /// `put` for a key this store's invariants make absent: one built from an id just taken from
    /// the counters or checked free, or an index entry for a time its record has just moved to.
    /// The engine trusts the claim instead of looking the key up (debug builds check it).
    func insertNew(_ tree: String, _ key: [UInt8], _ value: [UInt8]) throws {
        try storage { try transaction.insertAbsent(tree, key, value) }
    }

    /// `delete` for a key this store's invariants make present: an index entry its record points
    /// at (the indexes always agree with the records), or a value this transaction has just read.
    /// Trusted like ``insertNew(_:_:_:)``.
    func deleteIndexed(_ tree: String, _ key: [UInt8]) throws {
        try storage { try transaction.deletePresent(tree, key) }
    }

    /// `put` for a key this store's invariants make present: a record just read in this
    /// transaction. Trusted like ``insertNew(_:_:_:)``.
    func replaceExisting(_ tree: String, _ key: [UInt8], _ value: [UInt8]) throws {
        try storage { try transaction.replacePresent(tree, key, value) }
    }

    @discardableResult
    func deletePrefix(_ tree: String, _ prefix: [UInt8]) throws -> Int {
        guard let end = Key.prefixEnd(prefix) else { return 0 }
        return try storage { try transaction.deleteRange(tree, from: prefix, to: end) }
    }

    func saveCounters(_ counters: Counters) throws {
        try put(Tree.meta, Key.counters, counters.encoded())
    }

    /// Stores the record of an existing conversation (every caller has just read it).
    func saveRecord(_ record: ConversationRecord, _ id: ConversationID) throws {
        try replaceExisting(Tree.conversations, id.bytes, record.encoded())
    }

    // MARK: - Validation

    func validateName(_ value: String, _ field: String) throws {
        let length = value.utf8.count
        guard length > 0, length <= Limits.maximumNameBytes else {
            throw ParleyError.invalidArgument("\(field) must be 1 to \(Limits.maximumNameBytes) bytes of UTF-8")
        }
    }

    func validateMetadata(_ metadata: Metadata?) throws {
        guard let metadata else { return }
        try MetadataCodec.validate(metadata)
        let size = MetadataCodec.encode(metadata).count
        guard size <= Limits.maximumMetadataBytes else {
            throw ParleyError.invalidArgument("metadata of \(size) bytes exceeds the maximum of \(Limits.maximumMetadataBytes)")
        }
    }

    func validateTitle(_ title: String?) throws {
        guard let title else { return }
        guard title.utf8.count <= Limits.maximumTitleBytes else {
            throw ParleyError.invalidArgument("a title must be at most \(Limits.maximumTitleBytes) bytes")
        }
    }

    // MARK: - Users

    /// Stores a user, or updates one: a non-nil `displayName` or `metadata` replaces the stored
    /// one, nil keeps it. Returns the user as stored.
    @discardableResult
    public func upsertUser(_ handle: String, displayName: String? = nil, metadata: Metadata? = nil) throws -> User {
        try validateName(handle, "a handle")
        if let displayName { try validateTitle(displayName) }
        try validateMetadata(metadata)
        var user = try self.user(handle) ?? User(handle: handle, createdAt: now)
        if let displayName { user.displayName = displayName }
        if let metadata { user.metadata = metadata }
        try put(Tree.users, Key.handle(handle), UserCodec.encode(user))
        return user
    }

    // MARK: - Activity

    /// Moves a conversation's status-index and inbox entries from `old` to `new` (its last
    /// activity or status changed), so both indexes always agree with the record.
    /// Both records must have the same members. Each index holds exactly one entry per
    /// conversation (per member, for the inbox) at its record's status and time, so the old
    /// entries are present and the new ones, whose status or time differs, absent.
    func moveIndexes(_ id: ConversationID, from old: ConversationRecord, to new: ConversationRecord) throws {
        if old.status != new.status || old.lastActivity != new.lastActivity {
            try deleteIndexed(Tree.status, Key.status(old.status, old.lastActivity, id))
            try insertNew(Tree.status, Key.status(new.status, new.lastActivity, id), [])
        }
        if old.lastActivity != new.lastActivity {
            for member in new.members {
                try deleteIndexed(Tree.inbox, Key.inbox(member.handle, old.lastActivity, id))
                try insertNew(Tree.inbox, Key.inbox(member.handle, new.lastActivity, id), [])
            }
        }
    }

    /// Moves `user`'s read marker in `record` forward to `position` (never back); the caller
    /// saves the record. `record` must already count every message of the transaction.
    func advanceMarker(
        _ user: String, _ id: ConversationID, to position: MessagePosition, in record: inout ConversationRecord,
        rank known: Int64? = nil
    ) throws {
        guard let index = record.memberIndex(user) else { throw ParleyError.notAParticipant(user: user, conversation: id) }
        if let current = record.members[index].marker, current.position >= position { return }
        let rank = try known ?? rank(of: position, in: id, record: record)
        record.members[index].marker = MarkerRecord(position: position, readCount: rank)
    }

    /// Keeps every participant's read count in `record` exact when messages are added or removed
    /// at `positions` (sorted): each marker counts those at or before it. The caller saves the record.
    func adjustMarkers(for positions: [MessagePosition], by sign: Int64, in record: inout ConversationRecord) {
        guard !positions.isEmpty else { return }
        for index in record.members.indices {
            guard var marker = record.members[index].marker else { continue }
            // Positions at or before the marker: a binary search over the sorted positions.
            var low = 0
            var high = positions.count
            while low < high {
                let middle = (low + high) / 2
                if positions[middle] <= marker.position { low = middle + 1 } else { high = middle }
            }
            guard low > 0 else { continue }
            marker.readCount += sign * Int64(low)
            record.members[index].marker = marker
        }
    }
}

extension Limits {
    /// Longest conversation title or user display name, in UTF-8 bytes.
    public static let maximumTitleBytes = 4096
}
