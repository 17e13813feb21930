// One message in binary. The conversation, created_at and id live in the key (pending messages)
// or in the block's running deltas (sealed messages); what follows is the same in both:
//
//   flags      role (bits 0-1), status (bits 2-3), has metadata (4), has attachments (5),
//              content type other than text/plain (6)
//   tokens     varint
//   text       varint length, UTF-8
//   [content type]   varint length, UTF-8
//   [metadata]       MetadataCodec
//   [attachments]    varint count; each: uri, mime type, varint size, optional name

enum MessageCodec {
    static let defaultContentType = "text/plain"

    /// The fields after the sender, shared by pending and sealed messages.
    static func encodeFields(_ message: Message, into writer: inout ByteWriter) {
        var flags = message.role.code | message.status.code << 2
        if message.metadata != nil { flags |= 1 << 4 }
        if !message.attachments.isEmpty { flags |= 1 << 5 }
        let customType = message.contentType != defaultContentType
        if customType { flags |= 1 << 6 }
        writer.byte(flags)
        writer.varint(UInt64(clamping: message.tokens))
        writer.string(message.text)
        if customType { writer.string(message.contentType) }
        if let metadata = message.metadata { MetadataCodec.encode(metadata, into: &writer) }
        if !message.attachments.isEmpty {
            writer.varint(UInt64(message.attachments.count))
            for attachment in message.attachments {
                writer.string(attachment.uri)
                writer.string(attachment.mimeType)
                writer.varint(UInt64(clamping: attachment.size))
                writer.optionalString(attachment.name)
            }
        }
    }

    struct Fields {
        var role: Role
        var status: MessageStatus
        var tokens: Int
        var text: String
        var contentType: String
        var metadata: Metadata?
        var attachments: [Attachment]
    }

    static func decodeFields(from reader: inout ByteReader) throws -> Fields {
        let flags = try reader.byte()
        guard flags & 0x80 == 0 else { throw DecodeFailure("unknown message flags") }
        guard let role = Role(code: flags & 3), let status = MessageStatus(code: flags >> 2 & 3) else {
            throw DecodeFailure("unknown role or status")
        }
        let tokens = try reader.varint()
        guard tokens <= UInt64(Int32.max) else { throw DecodeFailure("token count out of range") }
        let text = try reader.string(limit: Limits.maximumMessageBytes)
        let contentType = flags & 1 << 6 != 0 ? try reader.string(limit: Limits.maximumNameBytes) : defaultContentType
        let metadata = flags & 1 << 4 != 0 ? try MetadataCodec.decode(from: &reader) : nil
        var attachments: [Attachment] = []
        if flags & 1 << 5 != 0 {
            let count = try reader.count(limit: reader.remaining / 3)
            for _ in 0..<count {
                let uri = try reader.string(limit: Limits.maximumMessageBytes)
                let mime = try reader.string(limit: Limits.maximumNameBytes)
                let size = try reader.varint()
                guard size <= UInt64(Int64.max) else { throw DecodeFailure("attachment size out of range") }
                let name = try reader.optionalString(limit: Limits.maximumMessageBytes)
                attachments.append(Attachment(uri: uri, mimeType: mime, size: Int64(size), name: name))
            }
        }
        return Fields(
            role: role, status: status, tokens: Int(tokens), text: text, contentType: contentType,
            metadata: metadata, attachments: attachments)
    }

    /// The largest pending value an append accepts: the message limit (which counts the fields
    /// and one byte of the sender's length) plus the longest sender and its length's second byte.
    static let maximumPendingBytes = Limits.maximumMessageBytes + Limits.maximumNameBytes + 1

    /// A pending message's value: sender, then the fields.
    static func encodePending(_ message: Message) -> [UInt8] {
        var writer = ByteWriter(capacity: message.text.utf8.count + 32)
        writer.string(message.sender)
        encodeFields(message, into: &writer)
        return writer.bytes
    }

    static func decodePending(_ bytes: [UInt8], conversation: ConversationID, position: MessagePosition) throws -> Message {
        var reader = ByteReader(bytes)
        return try decodePending(&reader, conversation: conversation, position: position)
    }

    /// A pending message's value that fills `reader` to its end (a record's copy of its newest
    /// message is read in place this way).
    static func decodePending(_ reader: inout ByteReader, conversation: ConversationID, position: MessagePosition) throws -> Message {
        do {
            let sender = try reader.string(limit: Limits.maximumNameBytes)
            let fields = try decodeFields(from: &reader)
            guard reader.isAtEnd else { throw DecodeFailure("trailing bytes") }
            return make(conversation: conversation, position: position, sender: sender, fields)
        } catch let failure as DecodeFailure {
            throw ParleyError.corruptRecord(tree: Tree.pending, reason: "message \(position.id) in \(conversation): \(failure)")
        }
    }

    static func make(conversation: ConversationID, position: MessagePosition, sender: String, _ fields: Fields) -> Message {
        Message(
            id: position.id, conversation: conversation, sender: sender, role: fields.role,
            contentType: fields.contentType, text: fields.text, attachments: fields.attachments, tokens: fields.tokens,
            status: fields.status, createdAt: position.createdAt, metadata: fields.metadata)
    }
}
