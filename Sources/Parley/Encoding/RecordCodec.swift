// Records of users, conversations, the store's counters and read markers.

/// The largest magnitude a stored count or total may have. Counts read from disk are checked
/// against it, so the store's arithmetic on them (adding a message, a batch, a block) cannot
/// overflow however damaged a record is: a bad count is a typed error, never a trap.
let maximumStoredCount: Int64 = 1 << 53

extension ByteReader {
    /// A zigzag integer that must lie within ±`maximumStoredCount` (or 0...max when `signed` is false).
    @inline(__always)
    mutating func storedCount(signed: Bool = false) throws -> Int64 {
        let value = try zigzag()
        guard value <= maximumStoredCount, value >= (signed ? -maximumStoredCount : 0) else {
            throw DecodeFailure("count \(value) out of range")
        }
        return value
    }

    /// A message position behind a flag byte (0 for none), as records store them.
    @inline(__always)
    mutating func optionalPosition() throws -> MessagePosition? {
        switch try byte() {
        case 0: return nil
        case 1:
            let at = Timestamp(microseconds: try zigzag())
            return MessagePosition(createdAt: at, id: MessageID(rawValue: try varint()))
        default: throw DecodeFailure("bad position flag")
        }
    }
}

/// The running totals of the whole store, kept under `chat.meta/counters`.
struct Counters: Equatable {
    var nextMessageID: UInt64 = 1
    var messages: Int64 = 0
    var tokens: Int64 = 0
    var rawBytes: Int64 = 0
    var storedBytes: Int64 = 0

    func encoded() -> [UInt8] {
        var writer = ByteWriter()
        writer.varint(nextMessageID)
        writer.zigzag(messages)
        writer.zigzag(tokens)
        writer.zigzag(rawBytes)
        writer.zigzag(storedBytes)
        return writer.bytes
    }

    init() {}

    init(decoding bytes: [UInt8]) throws {
        var reader = ByteReader(bytes)
        do {
            nextMessageID = try reader.varint()
            guard nextMessageID <= UInt64(maximumStoredCount) else { throw DecodeFailure("next message id out of range") }
            // Signed: an inconsistent store may have driven a total below zero; the check reports it.
            messages = try reader.storedCount(signed: true)
            tokens = try reader.storedCount(signed: true)
            rawBytes = try reader.storedCount(signed: true)
            storedBytes = try reader.storedCount(signed: true)
        } catch let failure as DecodeFailure {
            throw ParleyError.corruptRecord(tree: Tree.meta, reason: failure.description)
        }
    }
}

enum UserCodec {
    static func encode(_ user: User) -> [UInt8] {
        var writer = ByteWriter()
        writer.zigzag(user.createdAt.microseconds)
        writer.optionalString(user.displayName)
        encodeOptionalMetadata(user.metadata, into: &writer)
        return writer.bytes
    }

    static func decode(handle: String, _ bytes: [UInt8]) throws -> User {
        var reader = ByteReader(bytes)
        do {
            let createdAt = Timestamp(microseconds: try reader.zigzag())
            let displayName = try reader.optionalString()
            let metadata = try decodeOptionalMetadata(from: &reader)
            return User(handle: handle, displayName: displayName, metadata: metadata, createdAt: createdAt)
        } catch let failure as DecodeFailure {
            throw ParleyError.corruptRecord(tree: Tree.users, reason: "user \"\(handle)\": \(failure)")
        }
    }
}

/// A conversation as stored under `chat.conversations` (participants live in their own tree).
struct ConversationRecord: Equatable {
    var platform: String?
    var externalID: String?
    var title: String?
    var status: ConversationStatus
    var createdAt: Timestamp
    var lastActivity: Timestamp
    var messageCount: Int64
    var tokenTotal: Int64
    /// Who takes part, in byte order of their handles, each with their read marker. Kept in the
    /// record (not a tree of its own) so that an inbox row, an append's membership check and
    /// its marker moves need no lookup beyond the record itself.
    var members: [Member]
    /// The newest message's position; nil when there is none.
    var lastPosition: MessagePosition?
    /// A copy of the newest message (its pending encoding), present exactly when `lastPosition`
    /// is: an inbox row shows it, and reading it here spares a lookup per row.
    var lastMessage: [UInt8]?
    /// The highest position a message of this conversation has ever had (purges leave it): read
    /// markers never pass it, so an append after it cannot land before any marker.
    var highWater: MessagePosition?
    var metadata: Metadata?

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 96)
        writer.byte(status.code)
        writer.optionalString(platform)
        writer.optionalString(externalID)
        writer.optionalString(title)
        writer.zigzag(createdAt.microseconds)
        writer.zigzag(lastActivity.microseconds)
        writer.zigzag(messageCount)
        writer.zigzag(tokenTotal)
        for position in [lastPosition, highWater] {
            if let position {
                writer.byte(1)
                writer.zigzag(position.createdAt.microseconds)
                writer.varint(position.id.rawValue)
            } else {
                writer.byte(0)
            }
        }
        encodeOptionalMetadata(metadata, into: &writer)
        writer.varint(members.count)
        for member in members { member.encode(into: &writer) }
        if let lastMessage {
            writer.byte(1)
            writer.bytesWithLength(lastMessage)
        } else {
            writer.byte(0)
        }
        return writer.bytes
    }

    init(
        platform: String?, externalID: String?, title: String?, status: ConversationStatus, createdAt: Timestamp,
        metadata: Metadata?
    ) {
        self.platform = platform
        self.externalID = externalID
        self.title = title
        self.status = status
        self.createdAt = createdAt
        self.lastActivity = createdAt
        self.messageCount = 0
        self.tokenTotal = 0
        self.members = []
        self.lastPosition = nil
        self.lastMessage = nil
        self.highWater = nil
        self.metadata = metadata
    }

    init(decoding bytes: [UInt8], id: ConversationID) throws {
        var reader = ByteReader(bytes)
        do {
            let header = try RecordHeader(decoding: &reader)
            status = header.status
            platform = header.platform
            externalID = header.externalID
            title = header.title
            createdAt = header.createdAt
            lastActivity = header.lastActivity
            messageCount = header.messageCount
            tokenTotal = header.tokenTotal
            lastPosition = header.lastPosition
            highWater = header.highWater
            metadata = header.metadata
            var members: [Member] = []
            try reader.members(reserving: { members.reserveCapacity($0) }) { member, _ in members.append(member) }
            self.members = members
            lastMessage = try reader.lastMessageRange(position: header.lastPosition).map { Array(bytes[$0]) }
            guard reader.isAtEnd else { throw DecodeFailure("trailing bytes") }
        } catch let failure as DecodeFailure {
            throw ParleyError.corruptRecord(tree: Tree.conversations, reason: "conversation \(id): \(failure)")
        }
    }

    func conversation(id: ConversationID) -> Conversation {
        Conversation(
            id: id, platform: platform, externalID: externalID, title: title, status: status,
            participants: participantHandles, createdAt: createdAt, lastActivity: lastActivity,
            messageCount: Int(clamping: messageCount), tokenTotal: Int(clamping: tokenTotal), metadata: metadata)
    }
}

/// The fields a conversation record begins with, before its members: what an inbox row reads
/// of a record besides one member's marker (`InboxRowCodec`).
struct RecordHeader {
    var status: ConversationStatus
    var platform: String?
    var externalID: String?
    var title: String?
    var createdAt: Timestamp
    var lastActivity: Timestamp
    var messageCount: Int64
    var tokenTotal: Int64
    var lastPosition: MessagePosition?
    var highWater: MessagePosition?
    var metadata: Metadata?

    init(decoding reader: inout ByteReader) throws {
        guard let status = ConversationStatus(code: try reader.byte()) else { throw DecodeFailure("unknown status") }
        self.status = status
        platform = try reader.optionalString()
        externalID = try reader.optionalString()
        title = try reader.optionalString()
        createdAt = Timestamp(microseconds: try reader.zigzag())
        lastActivity = Timestamp(microseconds: try reader.zigzag())
        messageCount = try reader.storedCount()
        tokenTotal = try reader.storedCount()
        lastPosition = try reader.optionalPosition()
        highWater = try reader.optionalPosition()
        metadata = try decodeOptionalMetadata(from: &reader)
    }
}

extension ByteReader {
    /// A record's members: their count (`reserving` is told it first), then each member in byte
    /// order of handles, handed to `each` with where its handle's bytes lie. Throws unless there
    /// is at least one, in order.
    @inline(__always)
    mutating func members(reserving: (Int) -> Void, _ each: (Member, Range<Int>) throws -> Void) throws {
        let count = try self.count(limit: Limits.maximumParticipants)
        guard count > 0 else { throw DecodeFailure("no participants") }
        reserving(count)
        var previousHandle: Range<Int>?
        for _ in 0..<count {
            let handle = try peekStringRange(limit: Limits.maximumNameBytes)
            // Binary search by handle bytes depends on this order (checked on the bytes, before
            // they become a String).
            if let previous = previousHandle, compare(previous, handle) >= 0 {
                throw DecodeFailure("participants out of order")
            }
            previousHandle = handle
            try each(try Member(decoding: &self), handle)
        }
    }

    /// Where the record's copy of its newest message lies in the bytes (nil when there is none),
    /// moving past it; it must be there exactly when the record has a newest message's position.
    @inline(__always)
    mutating func lastMessageRange(position: MessagePosition?) throws -> Range<Int>? {
        let range: Range<Int>?
        switch try byte() {
        case 0: range = nil
        case 1:
            range = try raw(try count(limit: MessageCodec.maximumPendingBytes)).indices
        default: throw DecodeFailure("bad last-message flag")
        }
        guard (range == nil) == (position == nil) else { throw DecodeFailure("the newest message's copy disagrees with its position") }
        return range
    }
}

/// A read marker: the last message read, and how many messages were at or before it, kept
/// exact through out-of-order appends and purges so that unread = count - read needs no block.
struct MarkerRecord: Equatable {
    var position: MessagePosition
    var readCount: Int64
}

/// One participant of a conversation, as its record keeps them.
struct Member: Equatable {
    var handle: String
    /// Nil until the participant has read (or sent) a message here.
    var marker: MarkerRecord?

    func encode(into writer: inout ByteWriter) {
        writer.string(handle)
        guard let marker else {
            writer.byte(0)
            return
        }
        writer.byte(1)
        writer.zigzag(marker.position.createdAt.microseconds)
        writer.varint(marker.position.id.rawValue)
        writer.zigzag(marker.readCount)
    }

    init(handle: String, marker: MarkerRecord? = nil) {
        self.handle = handle
        self.marker = marker
    }

    init(decoding reader: inout ByteReader) throws {
        handle = try reader.string(limit: Limits.maximumNameBytes)
        switch try reader.byte() {
        case 0: marker = nil
        case 1:
            let at = Timestamp(microseconds: try reader.zigzag())
            let position = MessagePosition(createdAt: at, id: MessageID(rawValue: try reader.varint()))
            marker = MarkerRecord(position: position, readCount: try reader.storedCount())
        default: throw DecodeFailure("bad marker flag")
        }
    }
}

extension ConversationRecord {
    /// The index of `handle` in ``members``, compared as bytes (as handles are stored: Swift's
    /// String equality would merge canonically equivalent spellings that are different users).
    func memberIndex(_ handle: String) -> Int? {
        let index = memberInsertionIndex(handle)
        guard index < members.count, compareUTF8(members[index].handle, handle) == 0 else { return nil }
        return index
    }

    /// Where `handle` is, or belongs, in ``members`` to keep them in byte order.
    func memberInsertionIndex(_ handle: String) -> Int {
        var low = 0
        var high = members.count
        while low < high {
            let middle = (low + high) / 2
            if compareUTF8(members[middle].handle, handle) < 0 { low = middle + 1 } else { high = middle }
        }
        return low
    }

    var participantHandles: [String] { members.map(\.handle) }

    /// The newest message, decoded from the record's copy; nil when there is none.
    func newestMessage(_ id: ConversationID) throws -> Message? {
        guard let lastPosition, let lastMessage else { return nil }
        return try MessageCodec.decodePending(lastMessage, conversation: id, position: lastPosition)
    }
}

func encodeOptionalMetadata(_ metadata: Metadata?, into writer: inout ByteWriter) {
    if let metadata {
        writer.byte(1)
        MetadataCodec.encode(metadata, into: &writer)
    } else {
        writer.byte(0)
    }
}

func decodeOptionalMetadata(from reader: inout ByteReader) throws -> Metadata? {
    switch try reader.byte() {
    case 0: return nil
    case 1: return try MetadataCodec.decode(from: &reader)
    default: throw DecodeFailure("bad metadata flag")
    }
}
