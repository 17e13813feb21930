// An inbox row read straight from a conversation record's bytes. Building the whole record (its
// members, a copy of its newest message) and then the row from it cost two arrays, a copy and
// a search by handle per row; the row needs the record's header, its participants' handles,
// one member's read count and the newest message, which one pass over the bytes gives. The
// checks are the record decoder's own (`RecordHeader`, `ByteReader.members`,
// `ByteReader.lastMessageRange`), so a damaged record fails here as it fails there.

enum InboxRowCodec {
    /// The status of the record (its first byte), for rows an inbox skips by status or offset.
    static func status(of bytes: [UInt8], id: ConversationID) throws -> ConversationStatus {
        guard let code = bytes.first, let status = ConversationStatus(code: code) else {
            throw ParleyError.corruptRecord(tree: Tree.conversations, reason: "conversation \(id): unknown status")
        }
        return status
    }

    /// The inbox row of the user whose handle's UTF-8 is `user`, from the record of `id`.
    static func entry(decoding bytes: [UInt8], id: ConversationID, user: [UInt8]) throws -> InboxEntry {
        var reader = ByteReader(bytes)
        let header: RecordHeader
        var participants: [String] = []
        var readCount: Int64 = 0
        let newest: Range<Int>?
        do {
            header = try RecordHeader(decoding: &reader)
            try reader.members(reserving: { participants.reserveCapacity($0) }) { member, handle in
                participants.append(member.handle)
                if let marker = member.marker, rangeOf(bytes, handle, equals: user) { readCount = marker.readCount }
            }
            newest = try reader.lastMessageRange(position: header.lastPosition)
            guard reader.isAtEnd else { throw DecodeFailure("trailing bytes") }
        } catch let failure as DecodeFailure {
            throw ParleyError.corruptRecord(tree: Tree.conversations, reason: "conversation \(id): \(failure)")
        }
        var lastMessage: Message?
        if let newest, let position = header.lastPosition {
            var messageReader = ByteReader(bytes, range: newest)
            lastMessage = try MessageCodec.decodePending(&messageReader, conversation: id, position: position)
        }
        let conversation = Conversation(
            id: id, platform: header.platform, externalID: header.externalID, title: header.title, status: header.status,
            participants: participants, createdAt: header.createdAt, lastActivity: header.lastActivity,
            messageCount: Int(clamping: header.messageCount), tokenTotal: Int(clamping: header.tokenTotal),
            metadata: header.metadata)
        return InboxEntry(
            conversation: conversation, lastMessage: lastMessage,
            unreadCount: ChatReader.unread(messageCount: header.messageCount, readCount: readCount))
    }
}
