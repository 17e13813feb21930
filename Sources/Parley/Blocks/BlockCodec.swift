// Message blocks: consecutive messages of one conversation, encoded with per-block sender table
// and delta-coded positions, compressed with LZ4 (HC), against the store's shared dictionary when
// there is one (`BlockCompressor`), unless that does not shrink them.
//
// Body, before compression:
//   sender count varint, each sender (varint length, UTF-8)
//   per message: created_at delta (zigzag) · id delta (zigzag) · sender index varint · fields
// Deltas run from the header's first position, so the first message's are zero.

struct EncodedBlock {
    var header: BlockHeader
    var body: [UInt8]
}

enum BlockCodec {
    /// Encodes `messages` (sorted by position, non-empty) as one block, compressed by `compressor`.
    static func encode(_ messages: [Message], full: Bool, compressor: BlockCompressor) -> EncodedBlock {
        precondition(!messages.isEmpty, "a block holds at least one message")
        // Keyed by bytes: String equality would merge canonically equivalent handles, which are
        // different users here.
        var senders: [[UInt8]: Int] = [:]
        var senderList: [String] = []
        for message in messages where senders[Array(message.sender.utf8)] == nil {
            senders[Array(message.sender.utf8)] = senderList.count
            senderList.append(message.sender)
        }
        var writer = ByteWriter(capacity: messages.count * 64)
        writer.varint(UInt64(senderList.count))
        for sender in senderList { writer.string(sender) }
        var previous = messages[0].position
        var tokens: Int64 = 0
        for message in messages {
            writer.zigzag(message.createdAt.microseconds &- previous.createdAt.microseconds)
            writer.zigzag(Int64(bitPattern: message.id.rawValue &- previous.id.rawValue))
            writer.varint(UInt64(senders[Array(message.sender.utf8)] ?? 0))
            MessageCodec.encodeFields(message, into: &writer)
            previous = message.position
            tokens += Int64(message.tokens)
        }
        let raw = writer.bytes
        let (codec, stored, dictionary) = compressor.compress(raw)
        let header = BlockHeader(
            codec: codec, full: full, count: messages.count, first: messages[0].position,
            last: messages[messages.count - 1].position, tokens: tokens, rawLength: raw.count,
            storedLength: stored.count, bodyChecksum: CRC32C.checksum(stored), dictionary: dictionary)
        return EncodedBlock(header: header, body: stored)
    }

    /// Verifies and decodes a block's messages, in order, finding the dictionary it names (if
    /// any) in `dictionaries`.
    static func decode(
        header: BlockHeader, body: [UInt8], conversation: ConversationID, dictionaries: some BlockDictionaryLookup
    ) throws -> [Message] {
        do {
            guard body.count == header.storedLength else {
                throw DecodeFailure("body is \(body.count) bytes, header says \(header.storedLength)")
            }
            guard CRC32C.checksum(body) == header.bodyChecksum else { throw DecodeFailure("body checksum mismatch") }
            let raw: [UInt8]
            switch header.codec {
            case .raw:
                guard header.rawLength == body.count else { throw DecodeFailure("raw block length mismatch") }
                raw = body
            case .lz4:
                raw = try decompress(body, rawLength: header.rawLength, dictionary: nil)
            case .lz4Dictionary:
                guard let reference = header.dictionary else { throw DecodeFailure("no dictionary named") }
                guard let dictionary = try dictionaries.dictionary(for: reference) else {
                    throw DecodeFailure("dictionary \(reference.id) is missing")
                }
                // Compressed against other bytes, the body would decode to other messages.
                guard dictionary.checksum == reference.checksum else {
                    throw DecodeFailure("dictionary \(reference.id) is not the one the block was compressed with")
                }
                raw = try decompress(body, rawLength: header.rawLength, dictionary: dictionary.bytes)
            }
            return try decodeRaw(raw, header: header, conversation: conversation)
        } catch let failure as DecodeFailure {
            throw ParleyError.corruptBlock(conversation: conversation, reason: failure.description)
        }
    }

    private static func decompress(_ body: [UInt8], rawLength: Int, dictionary: [UInt8]?) throws -> [UInt8] {
        guard let raw = BlockCompressor.decompress(body, rawLength: rawLength, dictionary: dictionary) else {
            throw DecodeFailure("LZ4 data does not decompress to \(rawLength) bytes")
        }
        return raw
    }

    private static func decodeRaw(_ raw: [UInt8], header: BlockHeader, conversation: ConversationID) throws -> [Message] {
        var reader = ByteReader(raw)
        let senderCount = try reader.count(limit: header.count)
        var senders: [String] = []
        senders.reserveCapacity(senderCount)
        for _ in 0..<senderCount { senders.append(try reader.string(limit: Limits.maximumNameBytes)) }
        var messages: [Message] = []
        // Every message takes at least four bytes: never reserve more than the body can hold.
        messages.reserveCapacity(min(header.count, raw.count / 4))
        var previous = header.first
        for index in 0..<header.count {
            let (at, atOverflow) = previous.createdAt.microseconds.addingReportingOverflow(try reader.zigzag())
            let idDelta = try reader.zigzag()
            let id = previous.id.rawValue &+ UInt64(bitPattern: idDelta)
            guard !atOverflow else { throw DecodeFailure("time delta overflows") }
            let senderIndex = try reader.count(limit: max(senders.count - 1, 0))
            guard senderIndex < senders.count else { throw DecodeFailure("sender index out of range") }
            let position = MessagePosition(createdAt: Timestamp(microseconds: at), id: MessageID(rawValue: id))
            guard index == 0 ? position == header.first : previous < position else {
                throw DecodeFailure("messages out of order")
            }
            let fields = try MessageCodec.decodeFields(from: &reader)
            messages.append(
                MessageCodec.make(conversation: conversation, position: position, sender: senders[senderIndex], fields))
            previous = position
        }
        guard previous == header.last else { throw DecodeFailure("last message does not match the header") }
        guard reader.isAtEnd else { throw DecodeFailure("trailing bytes after the last message") }
        return messages
    }
}
