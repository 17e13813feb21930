// The block codec for the libFuzzer targets in Fuzz/. They are a separate package (so that the
// sanitizer build never touches the main one) and cannot see internal symbols, and the codec is
// internal: this is its one door, behind `@_spi(Fuzzing)`, so it is not part of the public API
// unless a client imports it by that name.

@_spi(Fuzzing) public enum BlockFuzzing {
    /// Verifies and decodes a block as stored: `header` (a `chat.blocks` value) and `body` (its
    /// `chat.blockdata` value). Throws `ParleyError.corruptBlock` when either is bad.
    /// `dictionary`, when given, is the store's dictionary 1 (1 byte to 64 KiB): a block that
    /// names it by id and checksum decodes against it; any other named dictionary is missing.
    public static func decode(
        header: [UInt8], body: [UInt8], conversation: ConversationID, dictionary: [UInt8]? = nil
    ) throws -> [Message] {
        let decoded = try BlockHeader(decoding: header, conversation: conversation)
        return try BlockCodec.decode(header: decoded, body: body, conversation: conversation, dictionaries: FixedDictionary(dictionary))
    }

    /// Encodes messages (at least one, in position order) as the sealer does: header and body,
    /// compressed against `dictionary` (as dictionary 1) when given.
    public static func encode(_ messages: [Message], full: Bool, dictionary: [UInt8]? = nil) -> (header: [UInt8], body: [UInt8]) {
        let block = BlockCodec.encode(messages, full: full, compressor: BlockCompressor(dictionary: FixedDictionary(dictionary).stored))
        return (block.header.encoded(), block.body)
    }

    /// The one dictionary a fuzz input may use, as dictionary 1.
    private struct FixedDictionary: BlockDictionaryLookup {
        let stored: BlockDictionary?

        init(_ bytes: [UInt8]?) {
            if let bytes, !bytes.isEmpty, bytes.count <= BlockDictionary.maximumBytes {
                stored = BlockDictionary(id: 1, bytes: bytes, madeAtBytes: 0)
            } else {
                stored = nil
            }
        }

        func dictionary(for reference: BlockHeader.DictionaryReference) throws -> BlockDictionary? {
            reference.id == stored?.id ? stored : nil
        }
    }
}
