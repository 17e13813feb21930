// A message block's header, stored under `chat.blocks` beside its body under `chat.blockdata`, so
// that counting and skipping blocks never reads a body.
//
//   version u8 (1) · codec u8 (0 raw, 1 LZ4, 2 LZ4 with a shared dictionary)
//   flags u8 (bit 0: full, closed to appends)
//   count varint · first (created_at zigzag, id varint) · last (created_at zigzag, id varint)
//   token sum varint · raw length varint · stored length varint
//   codec 2 only: dictionary id varint · dictionary CRC-32C u32 LE
//   body CRC-32C u32 LE · header CRC-32C u32 LE (over every byte before it)
//
// A block names its dictionary by id *and* checksum, so it decodes only with the very bytes it was
// compressed with: a damaged or replaced dictionary is a corrupt block, never wrong messages.

struct BlockHeader: Equatable {
    enum Codec: UInt8 {
        case raw = 0
        case lz4 = 1
        /// LZ4 against a shared dictionary (`chat.dictionaries`), named by `dictionary`.
        case lz4Dictionary = 2
    }

    /// The shared dictionary a `lz4Dictionary` block was compressed with.
    struct DictionaryReference: Equatable {
        var id: UInt32
        var checksum: UInt32
    }

    var codec: Codec
    /// Full: new messages after it go to a new block, so an append never rewrites it.
    var full: Bool
    var count: Int
    var first: MessagePosition
    var last: MessagePosition
    var tokens: Int64
    var rawLength: Int
    var storedLength: Int
    var bodyChecksum: UInt32
    /// Set exactly when `codec` is `lz4Dictionary`.
    var dictionary: DictionaryReference?

    static let version: UInt8 = 1

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 48)
        writer.byte(Self.version)
        writer.byte(codec.rawValue)
        writer.byte(full ? 1 : 0)
        writer.varint(UInt64(count))
        writer.zigzag(first.createdAt.microseconds)
        writer.varint(first.id.rawValue)
        writer.zigzag(last.createdAt.microseconds)
        writer.varint(last.id.rawValue)
        writer.varint(UInt64(clamping: tokens))
        writer.varint(UInt64(rawLength))
        writer.varint(UInt64(storedLength))
        if let dictionary {
            writer.varint(UInt64(dictionary.id))
            writer.littleEndian32(dictionary.checksum)
        }
        writer.littleEndian32(bodyChecksum)
        writer.littleEndian32(CRC32C.checksum(writer.bytes))
        return writer.bytes
    }

    init(
        codec: Codec, full: Bool, count: Int, first: MessagePosition, last: MessagePosition, tokens: Int64,
        rawLength: Int, storedLength: Int, bodyChecksum: UInt32, dictionary: DictionaryReference? = nil
    ) {
        precondition((codec == .lz4Dictionary) == (dictionary != nil), "a dictionary goes with its codec")
        self.codec = codec
        self.full = full
        self.count = count
        self.first = first
        self.last = last
        self.tokens = tokens
        self.rawLength = rawLength
        self.storedLength = storedLength
        self.bodyChecksum = bodyChecksum
        self.dictionary = dictionary
    }

    /// Decodes and verifies a header read from `chat.blocks`.
    init(decoding bytes: [UInt8], conversation: ConversationID) throws {
        do {
            guard bytes.count >= 8 else { throw DecodeFailure("header of \(bytes.count) bytes is too short") }
            var tail = ByteReader(bytes, from: bytes.count - 4)
            let stored = try tail.littleEndian32()
            let computed = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<(bytes.count - 4)])) }
            guard stored == computed else { throw DecodeFailure("header checksum mismatch") }
            var reader = ByteReader(Array(bytes[0..<(bytes.count - 4)]))
            guard try reader.byte() == Self.version else { throw DecodeFailure("unknown block version") }
            guard let codec = Codec(rawValue: try reader.byte()) else { throw DecodeFailure("unknown codec") }
            let flags = try reader.byte()
            guard flags <= 1 else { throw DecodeFailure("unknown block flags") }
            self.codec = codec
            full = flags == 1
            count = try reader.count(limit: Limits.maximumBlockMessages)
            guard count > 0 else { throw DecodeFailure("empty block") }
            let firstAt = Timestamp(microseconds: try reader.zigzag())
            first = MessagePosition(createdAt: firstAt, id: MessageID(rawValue: try reader.varint()))
            let lastAt = Timestamp(microseconds: try reader.zigzag())
            last = MessagePosition(createdAt: lastAt, id: MessageID(rawValue: try reader.varint()))
            guard first <= last else { throw DecodeFailure("first message after last") }
            let tokens = try reader.varint()
            guard tokens <= UInt64(maximumStoredCount) else { throw DecodeFailure("token sum out of range") }
            self.tokens = Int64(tokens)
            rawLength = try reader.count(limit: Limits.maximumBlockBytes)
            storedLength = try reader.count(limit: Limits.maximumBlockBytes)
            if codec == .lz4Dictionary {
                let id = try reader.count(limit: Int(UInt32.max))
                dictionary = DictionaryReference(id: UInt32(id), checksum: try reader.littleEndian32())
            } else {
                dictionary = nil
            }
            bodyChecksum = try reader.littleEndian32()
            guard reader.isAtEnd else { throw DecodeFailure("trailing header bytes") }
        } catch let failure as DecodeFailure {
            throw ParleyError.corruptBlock(conversation: conversation, reason: failure.description)
        }
    }
}

extension Limits {
    /// Most messages one block may hold (a decoding bound).
    static let maximumBlockMessages = 1 << 20
    /// Largest raw or stored block body (a decoding bound; real blocks are far smaller).
    static let maximumBlockBytes = 64 << 20
}
