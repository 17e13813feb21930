// A walk over one conversation's messages in time order, forwards or backwards, merging the
// sealed blocks with the pending (not yet sealed) messages. Pending messages may fall anywhere,
// inside a block's range too (out-of-order appends), so both sides are merged message by message.
//
// Blocks are decoded only when the walk enters them; `skip` passes over whole blocks by their
// header counts when no pending message falls inside them, so index paging and counting decode at
// most the blocks at the edges.

final class MessageStream {
    private let view: any KeyValueView
    private let dictionaries: StoreBlockDictionaries
    /// Decoded blocks shared by the store's readers; nil decodes every block it enters.
    private let decoded: DecodedBlockCache?
    let conversation: ConversationID
    let forward: Bool
    private let blockCursor: MergedCursor
    private let pendingCursor: MergedCursor
    private let prefix: [UInt8]

    /// The pending side's head.
    private var pendingHead: Message?
    /// The block side: a header not yet decoded, or a decoded block (`blockMessages`, at
    /// `blockIndex`). The messages live in their own stored properties, not in an enum payload:
    /// matching on a payload copies the array (a retain and a release per message walked), and
    /// the walk reads its head once per message.
    private enum BlockSide {
        case none
        case header(key: [UInt8], header: BlockHeader, raw: [UInt8])
        case decoded
    }
    private var blockSide = BlockSide.none
    private var blockMessages: [Message] = []
    private var blockIndex = 0
    /// Bound the walk starts beyond (exclusive); nil for the conversation's end.
    private let start: MessagePosition?

    /// A stream strictly after `after` (forward) or strictly before `before` (backward).
    init(
        view: any KeyValueView, dictionaries: StoreBlockDictionaries, decoded: DecodedBlockCache?,
        conversation: ConversationID, forward: Bool, from start: MessagePosition?
    ) throws {
        self.dictionaries = dictionaries
        self.decoded = decoded
        self.view = view
        self.conversation = conversation
        self.forward = forward
        self.start = start
        self.prefix = conversation.bytes
        blockCursor = try view.cursor(Tree.blocks)
        pendingCursor = try view.cursor(Tree.pending)
        try positionPending()
        try positionBlocks()
    }

    private func inConversation(_ key: [UInt8]) -> Bool { key.hasPrefix(prefix) }

    // MARK: Pending side

    private func positionPending() throws {
        var entry: (key: Bytes, value: Bytes)?
        if forward {
            if let start {
                entry = try pendingCursor.seek(atOrAfter: Key.message(conversation, start))
                if let key = entry?.key, Key.position(inMessageKey: key) == start, inConversation(key) {
                    entry = try pendingCursor.next()
                }
            } else {
                entry = try pendingCursor.seek(atOrAfter: prefix)
            }
        } else {
            if let start {
                entry = try pendingCursor.seek(atOrBefore: Key.message(conversation, start))
                if let key = entry?.key, Key.position(inMessageKey: key) == start, inConversation(key) {
                    entry = try pendingCursor.previous()
                }
            } else {
                entry = try pendingCursor.seek(atOrBefore: Key.conversationEnd(conversation))
            }
        }
        try loadPending(entry)
    }

    private func loadPending(_ entry: (key: Bytes, value: Bytes)?) throws {
        guard let (key, value) = entry, inConversation(key), let position = Key.position(inMessageKey: key) else {
            pendingHead = nil
            return
        }
        pendingHead = try MessageCodec.decodePending(value, conversation: conversation, position: position)
    }

    private func advancePending() throws {
        try loadPending(forward ? try pendingCursor.next() : try pendingCursor.previous())
    }

    // MARK: Block side

    private func positionBlocks() throws {
        var entry: (key: Bytes, value: Bytes)?
        if let start {
            // The block that may hold `start` begins at or before it.
            entry = try blockCursor.seek(atOrBefore: Key.message(conversation, start))
            if forward, entry.map({ !inConversation($0.key) }) ?? true {
                entry = try blockCursor.seek(atOrAfter: prefix)
            }
        } else {
            entry = forward
                ? try blockCursor.seek(atOrAfter: prefix) : try blockCursor.seek(atOrBefore: Key.conversationEnd(conversation))
        }
        try loadHeader(entry)
        // Decode the first block now and drop what is on the wrong side of `start`.
        guard let start, case .header(let key, let header, let raw) = blockSide else { return }
        if forward, header.last <= start {
            try loadHeader(try blockCursor.next())
            return
        }
        if !forward, header.first >= start {
            try loadHeader(try blockCursor.previous())
            return
        }
        let messages = try decodeBlock(key: key, header: header, raw: raw)
        let index = forward
            ? firstIndex(in: messages) { $0 > start } ?? messages.count
            : lastIndex(in: messages) { $0 < start } ?? -1
        enterBlock(messages, at: index)
        try settleBlocks()
    }

    private func loadHeader(_ entry: (key: Bytes, value: Bytes)?) throws {
        blockMessages = []
        guard let (key, value) = entry, inConversation(key) else {
            blockSide = .none
            return
        }
        blockSide = .header(key: key, header: try BlockHeader(decoding: value, conversation: conversation), raw: value)
    }

    private func enterBlock(_ messages: [Message], at index: Int) {
        blockMessages = messages
        blockIndex = index
        blockSide = .decoded
    }

    /// The first index whose position satisfies `test` (positions are ascending: a binary search).
    private func firstIndex(in messages: [Message], where test: (MessagePosition) -> Bool) -> Int? {
        var low = 0
        var high = messages.count
        while low < high {
            let middle = (low + high) / 2
            if test(messages[middle].position) { high = middle } else { low = middle + 1 }
        }
        return low < messages.count ? low : nil
    }

    /// The last index whose position satisfies `test` (true on a prefix of the ascending positions).
    private func lastIndex(in messages: [Message], where test: (MessagePosition) -> Bool) -> Int? {
        var low = 0
        var high = messages.count
        while low < high {
            let middle = (low + high) / 2
            if test(messages[middle].position) { low = middle + 1 } else { high = middle }
        }
        return low > 0 ? low - 1 : nil
    }

    private func decodeBlock(key: [UInt8], header: BlockHeader, raw: [UInt8]) throws -> [Message] {
        let cacheKey = decoded.map { _ in DecodedBlockCache.key(conversation: conversation, header: raw) }
        if let decoded, let cacheKey, let messages = decoded.messages(cacheKey) { return messages }
        guard let body = try view.get(Tree.blockData, key) else {
            throw ParleyError.corruptBlock(conversation: conversation, reason: "block body missing")
        }
        let messages = try BlockCodec.decode(header: header, body: body, conversation: conversation, dictionaries: dictionaries)
        if let decoded, let cacheKey {
            decoded.remember(cacheKey, messages, cost: DecodedBlockCache.cost(rawLength: header.rawLength, count: header.count))
        }
        return messages
    }

    /// After the index moved off a decoded block, loads the next header.
    private func settleBlocks() throws {
        while case .decoded = blockSide, blockIndex < 0 || blockIndex >= blockMessages.count {
            try loadHeader(forward ? try blockCursor.next() : try blockCursor.previous())
        }
    }

    /// How many messages ahead a walk over a decoded block fetches their storage.
    private static let prefetchDistance = 8

    /// The block side's head position, decoding the block the walk has just entered.
    private func blockHeadPosition() throws -> MessagePosition? {
        switch blockSide {
        case .none: return nil
        case .header(let key, let header, let raw):
            let messages = try decodeBlock(key: key, header: header, raw: raw)
            enterBlock(messages, at: forward ? 0 : messages.count - 1)
            try settleBlocks()
            return try blockHeadPosition()
        case .decoded: return blockMessages[blockIndex].position
        }
    }

    /// Takes the block side's head (which `blockHeadPosition` found) and moves past it.
    private func takeBlockHead() throws -> Message {
        let message = blockMessages[blockIndex]
        let ahead = blockIndex + (forward ? Self.prefetchDistance : -Self.prefetchDistance)
        if ahead >= 0, ahead < blockMessages.count { blockMessages[ahead].prefetch() }
        blockIndex += forward ? 1 : -1
        try settleBlocks()
        return message
    }

    // MARK: Walking

    /// The next message in the walk's direction, or nil at the end.
    func next() throws -> Message? {
        let block = try blockHeadPosition()
        guard let pending = pendingHead else {
            return block == nil ? nil : try takeBlockHead()
        }
        if let block, (block < pending.position) == forward { return try takeBlockHead() }
        try advancePending()
        return pending
    }

    /// Passes over up to `count` messages, whole blocks at a time where no pending message falls
    /// inside them; returns how many it passed.
    func skip(_ count: Int) throws -> Int {
        var skipped = 0
        while skipped < count {
            if case .header(_, let header, _) = blockSide, header.count <= count - skipped {
                let clear: Bool
                if let pending = pendingHead {
                    clear = forward ? pending.position > header.last : pending.position < header.first
                } else {
                    clear = true
                }
                if clear {
                    skipped += header.count
                    try loadHeader(forward ? try blockCursor.next() : try blockCursor.previous())
                    continue
                }
            }
            guard try next() != nil else { break }
            skipped += 1
        }
        return skipped
    }

    /// Counts every remaining message, decoding only blocks that pending messages fall inside of
    /// (and the one the walk started in).
    func countRemaining() throws -> Int {
        var total = 0
        while true {
            let passed = try skip(Int.max - total)
            total += passed
            if passed == 0 { return total }
        }
    }
}
