// The block codec for the libFuzzer targets in Fuzz/. They are a separate package (so that the
// sanitizer build never touches the main one) and cannot see internal symbols, and the codec is
// internal: this is its one door, behind `@_spi(Fuzzing)`, so it is not part of the public API
// unless a client imports it by that name.

@_spi(Fuzzing) public enum BlockFuzzing {
    /// Verifies and decodes a block as stored: `header` (a `chat.blocks` value) and `body` (its
    /// `chat.blockdata` value). Throws `ParleyError.corruptBlock` when either is bad.
    public static func decode(header: [UInt8], body: [UInt8], conversation: ConversationID) throws -> [Message] {
        let decoded = try BlockHeader(decoding: header, conversation: conversation)
        return try BlockCodec.decode(header: decoded, body: body, conversation: conversation)
    }

    /// Encodes messages (at least one, in position order) as the sealer does: header and body.
    public static func encode(_ messages: [Message], full: Bool) -> (header: [UInt8], body: [UInt8]) {
        let block = BlockCodec.encode(messages, full: full)
        return (block.header.encoded(), block.body)
    }
}
