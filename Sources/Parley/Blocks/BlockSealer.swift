// Sealing: moving a conversation's pending messages into LZ4 blocks, at each checkpoint, before
// the engine moves the memtable into the B+trees, so most pending messages live and die in the
// memtable and the log and never reach a page (those appended during a pass, and those an
// automatic checkpoint leaves for later, do). It runs in two steps (`SealPlan`): the
// rules below are applied on a snapshot, with no writer gate held, and what they decided is
// written afterwards in one short write transaction.
//
// Where a pending message goes:
// - after the conversation's last block: into that block while it is not full (it is rewritten
//   once per checkpoint, never per message), else into new blocks; a block is full once its raw
//   body reaches the target size, and a full block is never rewritten by an append;
// - inside or between existing blocks (out-of-order appends, imports): into the block that starts
//   at or before it (or the first block), which is rewritten and split if it grows too large.
// Blocks therefore never overlap, and each holds messages in (created_at, id) order.
//
// Every pending message is sealed, the newest too (an automatic checkpoint may leave some for a
// later one, `SealDeferral.swift`): inboxes read a conversation's newest message
// from the copy its record keeps, never from a block.
//
// Blocks are compressed against the store's newest dictionary. The first is built from the
// pending texts of the first checkpoint that has enough of them; a new one from the pending texts
// of a checkpoint once the store's messages have grown `dictionaryRebuildGrowth`-fold since the
// newest was made, so their number grows with the logarithm of the store's size.

extension ChatReader {
    /// Plans sealing the pending messages this view sees, all of them unless `deferringUpTo` lets
    /// some wait (`SealDeferral.swift`); reads only, so it runs on a snapshot.
    /// `afterConversation` runs after each conversation is planned (tests commit from there).
    func planSealing(
        deferringUpTo deferralLimit: Int = 0, passesWaited: [ConversationID: Int] = [:],
        afterConversation: (() throws -> Void)? = nil
    ) throws -> SealPlan {
        let deferred = try conversationsToDefer(limit: deferralLimit, passesWaited: passesWaited)
        var plan = SealPlan()
        plan.deferred = deferred
        // Chosen when the first block is planned, so a pass with nothing to seal reads nothing more.
        var chosen: SealingDictionary?
        func passCompressor() throws -> BlockCompressor {
            if let chosen { return chosen.compressor }
            let made = try dictionaryForSealing()
            chosen = made
            return made.compressor
        }
        var from: [UInt8] = []
        while let next = try storage({ try view.entries(Tree.pending, from: from, to: nil, limit: 1) }).first {
            guard next.key.count >= 16, let id = ConversationID(bytes: Array(next.key[0..<16])) else {
                throw ParleyError.corruptRecord(tree: Tree.pending, reason: "a key is shorter than 16 bytes")
            }
            if deferred.contains(id) {
                from = Key.conversationEnd(id)
                continue
            }
            do {
                if let planned = try planSeal(id, compressor: passCompressor) { plan.conversations.append(planned) }
            } catch let error as ParleyError {
                // A corrupt block or conversation record leaves that conversation's messages
                // pending; the others go on.
                switch error {
                case .corruptBlock: break
                case .corruptRecord(let tree, _) where tree == Tree.conversations: break
                default: throw error
                }
            }
            from = Key.conversationEnd(id)
            try afterConversation?()
        }
        plan.newDictionary = chosen?.toStore
        plan.newestDictionaryID = chosen?.newestID
        return plan
    }

    /// Plans sealing one conversation's pending messages; nil when it has none.
    func planSeal(_ id: ConversationID, compressor makeCompressor: () throws -> BlockCompressor) throws -> SealPlan.Conversation? {
        var pendingEntries: [(key: [UInt8], value: [UInt8])] = []
        var pending: [Message] = []
        var pendingBytes: Int64 = 0
        for entry in try storage({ try view.entries(Tree.pending, prefix: id.bytes) }) {
            guard let position = Key.position(inMessageKey: entry.key) else {
                throw ParleyError.corruptRecord(tree: Tree.pending, reason: "a key must be 32 bytes")
            }
            pendingEntries.append(entry)
            pending.append(try MessageCodec.decodePending(entry.value, conversation: id, position: position))
            pendingBytes += Int64(entry.value.count)
        }
        guard !pending.isEmpty else { return nil }
        let compressor = try makeCompressor()
        let blocks = try storage { try view.entries(Tree.blocks, prefix: id.bytes) }
        var headers: [(key: [UInt8], header: BlockHeader)] = []
        for (key, value) in blocks { headers.append((key, try BlockHeader(decoding: value, conversation: id))) }

        // Assign each pending message to a block index, or to `nil` for new blocks at the end.
        var assigned: [Int?: [Message]] = [:]
        for message in pending {
            var owner: Int?
            if let tail = headers.last, message.position > tail.header.last {
                owner = tail.header.full ? nil : headers.count - 1
            } else if !headers.isEmpty {
                // The last block starting at or before the message, else the first block.
                var low = 0
                var high = headers.count - 1
                while low < high {
                    let middle = (low + high + 1) / 2
                    if headers[middle].header.first <= message.position { low = middle } else { high = middle - 1 }
                }
                owner = low
            }
            assigned[owner, default: []].append(message)
        }

        var planned = SealPlan.Conversation(
            id: id, pending: pendingEntries, blocks: blocks.map { (key: $0.key, header: $0.value) },
            rawBytesDelta: -pendingBytes, storedBytesDelta: -pendingBytes)
        for (owner, messages) in assigned {
            var merged = messages
            var isTail = owner == nil
            if let index = owner {
                let (key, header) = headers[index]
                guard let body = try storage({ try view.get(Tree.blockData, key) }) else {
                    throw ParleyError.corruptBlock(conversation: id, reason: "block body missing")
                }
                merged += try BlockCodec.decode(header: header, body: body, conversation: id, dictionaries: dictionaries)
                merged.sort { $0.position < $1.position }
                isTail = index == headers.count - 1
                planned.rawBytesDelta -= Int64(header.rawLength)
                planned.storedBytesDelta -= Int64(header.storedLength)
                planned.replaced.append(key)
            }
            for block in chunk(merged, isTail: isTail, compressor: compressor) {
                planned.rawBytesDelta += Int64(block.header.rawLength)
                planned.storedBytesDelta += Int64(block.header.storedLength)
                planned.written.append(block)
            }
        }
        return planned
    }

    /// Cuts sorted messages into blocks of about the target size. Blocks of a conversation's
    /// tail are full once they reach the target, so the last one stays open for later appends;
    /// anything else is full (it is rewritten only by out-of-order messages).
    func chunk(_ messages: [Message], isTail: Bool, compressor: BlockCompressor) -> [EncodedBlock] {
        let target = store.blockTargetBytes
        var blocks: [EncodedBlock] = []
        var current: [Message] = []
        var size = 0
        for message in messages {
            let cost = message.text.utf8.count + message.sender.utf8.count + 16
            if !current.isEmpty, size + cost > target {
                blocks.append(BlockCodec.encode(current, full: true, compressor: compressor))
                current = []
                size = 0
            }
            current.append(message)
            size += cost
        }
        if !current.isEmpty {
            blocks.append(BlockCodec.encode(current, full: !isTail || size >= target, compressor: compressor))
        }
        return blocks
    }

    /// A new dictionary is made once the store's messages grow this many times over.
    static let dictionaryRebuildGrowth: Int64 = 16

    /// A compressor with the store's newest dictionary (none when there is none or it is damaged).
    func currentCompressor() throws -> BlockCompressor {
        BlockCompressor(dictionary: try dictionaries.newest()?.dictionary)
    }

    /// The dictionary for this sealing pass: the newest one, or a new one built from the pending
    /// texts when one is due (none yet, the newest damaged, or the store grown
    /// `dictionaryRebuildGrowth`-fold since it was made) and they are enough to build it. A new
    /// one is only returned (`toStore`); applying the plan stores it.
    func dictionaryForSealing() throws -> SealingDictionary {
        let newest: (id: UInt32, dictionary: BlockDictionary?)?
        do {
            newest = try dictionaries.newest()
        } catch ParleyError.corruptRecord(let tree, _) where tree == Tree.dictionaries {
            // A damaged key gives no next id: seal without a dictionary rather than not at all.
            return SealingDictionary(compressor: BlockCompressor(dictionary: nil), toStore: nil, newestID: nil)
        }
        let unchanged = SealingDictionary(
            compressor: BlockCompressor(dictionary: newest?.dictionary), toStore: nil, newestID: newest?.id)
        let rawBytes = try counters().rawBytes
        // Never below the minimum sample, so a dictionary made from nearly nothing is not rebuilt
        // at every pass.
        let base = max(newest?.dictionary?.madeAtBytes ?? 0, Int64(clamping: store.dictionaryMinimumSample))
        let due = base.multipliedReportingOverflow(by: Self.dictionaryRebuildGrowth)
        if newest?.dictionary != nil, due.overflow || rawBytes < due.partialValue { return unchanged }
        let id = (newest?.id ?? 0).addingReportingOverflow(1)
        guard !id.overflow, let bytes = BlockDictionaryBuilder.build(from: try pendingTextSample(), minimumSample: store.dictionaryMinimumSample) else {
            return unchanged
        }
        let made = BlockDictionary(id: id.partialValue, bytes: bytes, madeAtBytes: rawBytes)
        return SealingDictionary(compressor: BlockCompressor(dictionary: made), toStore: made, newestID: newest?.id)
    }

    /// The texts of pending messages, up to the builder's sample size. A pending message that
    /// does not decode is left out (sealing reports it for its own conversation).
    private func pendingTextSample() throws -> [[UInt8]] {
        let cursor = try storage { try view.cursor(Tree.pending) }
        var texts: [[UInt8]] = []
        var sampled = 0
        var entry = try storage { try cursor.first() }
        while let (key, value) = entry, sampled < BlockDictionaryBuilder.maximumSampleBytes {
            if key.count >= 16, let id = ConversationID(bytes: Array(key[0..<16])), let position = Key.position(inMessageKey: key),
                let message = try? MessageCodec.decodePending(value, conversation: id, position: position)
            {
                let text = Array(message.text.utf8)
                sampled += text.count
                texts.append(text)
            }
            entry = try storage { try cursor.next() }
        }
        return texts
    }
}

/// The dictionary a sealing pass compresses with, and whether it still has to be stored.
struct SealingDictionary {
    var compressor: BlockCompressor
    /// A new dictionary, stored when the plan is applied (its id is the newest's + 1).
    var toStore: BlockDictionary?
    /// The newest stored dictionary's id when this was chosen (nil: none).
    var newestID: UInt32?
}
