// Message blocks: consecutive messages of one conversation, encoded with per-block sender table
// and delta-coded positions, compressed with LZ4 (HC) unless that does not shrink them.
//
// Body, before compression:
//   sender count varint, each sender (varint length, UTF-8)
//   per message: created_at delta (zigzag) · id delta (zigzag) · sender index varint · fields
// Deltas run from the header's first position, so the first message's are zero.

import CLZ4

struct EncodedBlock {
    var header: BlockHeader
    var body: [UInt8]
}

enum BlockCodec {
    /// LZ4 HC level: blocks are written in the background, read far more often than written.
    static let compressionLevel: Int32 = 9

    /// Encodes `messages` (sorted by position, non-empty) as one block.
    static func encode(_ messages: [Message], full: Bool) -> EncodedBlock {
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
        var codec = BlockHeader.Codec.raw
        var stored = raw
        if let compressed = compress(raw), compressed.count < raw.count {
            codec = .lz4
            stored = compressed
        }
        let header = BlockHeader(
            codec: codec, full: full, count: messages.count, first: messages[0].position,
            last: messages[messages.count - 1].position, tokens: tokens, rawLength: raw.count,
            storedLength: stored.count, bodyChecksum: CRC32C.checksum(stored))
        return EncodedBlock(header: header, body: stored)
    }

    private static func compress(_ raw: [UInt8]) -> [UInt8]? {
        guard raw.count > 0, raw.count < Int(Int32.max) else { return nil }
        let bound = Int(LZ4_compressBound(Int32(raw.count)))
        guard bound > 0 else { return nil }
        var out = [UInt8](repeating: 0, count: bound)
        let written = raw.withUnsafeBytes { source in
            out.withUnsafeMutableBytes { destination in
                LZ4_compress_HC(
                    source.baseAddress?.assumingMemoryBound(to: CChar.self),
                    destination.baseAddress?.assumingMemoryBound(to: CChar.self),
                    Int32(raw.count), Int32(bound), compressionLevel)
            }
        }
        guard written > 0 else { return nil }
        out.removeSubrange(Int(written)...)
        return out
    }

    /// Verifies and decodes a block's messages, in order.
    static func decode(header: BlockHeader, body: [UInt8], conversation: ConversationID) throws -> [Message] {
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
                raw = try decompress(body, rawLength: header.rawLength)
            }
            return try decodeRaw(raw, header: header, conversation: conversation)
        } catch let failure as DecodeFailure {
            throw ParleyError.corruptBlock(conversation: conversation, reason: failure.description)
        }
    }

    private static func decompress(_ body: [UInt8], rawLength: Int) throws -> [UInt8] {
        guard body.count < Int(Int32.max), rawLength < Int(Int32.max) else { throw DecodeFailure("block too large") }
        var out = [UInt8](repeating: 0, count: rawLength)
        let produced = body.withUnsafeBytes { source in
            out.withUnsafeMutableBytes { destination in
                LZ4_decompress_safe(
                    source.baseAddress?.assumingMemoryBound(to: CChar.self),
                    destination.baseAddress?.assumingMemoryBound(to: CChar.self),
                    Int32(body.count), Int32(rawLength))
            }
        }
        guard produced == Int32(rawLength) else { throw DecodeFailure("LZ4 data does not decompress to \(rawLength) bytes") }
        return out
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
