// Sealing in two steps, so that compressing runs beside the writer rather than in its way.
//
// 1. Plan (`ChatReader.planSealing`, on a snapshot, no writer gate): every conversation's new
//    blocks, the blocks they replace and the counters' deltas, by the rules of `BlockSealer`,
//    plus a dictionary to store if one is due. Each conversation's plan records what it read:
//    the pending entries it consumed (keys and values) and the conversation's block list (keys
//    and header bytes, which carry the body's checksum).
// 2. Apply (`ChatWriter.applySealing`, one short write transaction): a conversation whose inputs
//    are unchanged gets exactly what the plan computed; one whose inputs changed since the
//    snapshot (a purge, a deletion, another sealing pass) is skipped, and its messages stay
//    pending until the next pass. Messages appended after the snapshot are not inputs: they stay
//    pending too, which is legal at any time (reads merge pending messages with blocks).
//
// Why unchanged inputs make the plan right: a conversation's blocks after sealing depend only on
// its pending messages taken and on its blocks (headers and bodies); if both are as they were,
// the planned blocks replace exactly the planned ones, cannot overlap the others, and each
// consumed message leaves pending as it enters a block. The counters move by the plan's deltas,
// added to the counters as they are now. The new blocks name the planned dictionary, so if
// another pass stored a dictionary meanwhile (its id is taken) nothing is applied.

/// What one sealing pass would change, computed on a snapshot.
struct SealPlan {
    /// One conversation's part: what it read and what it writes.
    struct Conversation {
        let id: ConversationID
        /// Inputs: the pending entries sealed, and every block of the conversation as seen.
        let pending: [(key: [UInt8], value: [UInt8])]
        let blocks: [(key: [UInt8], header: [UInt8])]
        /// Keys of the blocks rewritten (deleted from `chat.blocks` and `chat.blockdata`).
        var replaced: [[UInt8]] = []
        /// The new blocks, each stored under its first message's key.
        var written: [EncodedBlock] = []
        /// What the pass does to `Counters.rawBytes` and `storedBytes`.
        var rawBytesDelta: Int64
        var storedBytesDelta: Int64
    }

    var conversations: [Conversation] = []
    /// Conversations with pending messages this plan leaves pending (`SealDeferral.swift`).
    var deferred: Set<ConversationID> = []
    /// A dictionary the new blocks were compressed with that is not stored yet.
    var newDictionary: BlockDictionary?
    /// The newest stored dictionary's id when the plan was made (nil: none).
    var newestDictionaryID: UInt32?
}

/// Why a conversation's part of a plan was not applied.
enum SealSkip: Equatable {
    /// A pending message the plan sealed is gone or different.
    case pendingChanged
    /// The conversation's blocks are not the ones the plan read.
    case blocksChanged
    /// The plan's new dictionary can no longer be stored under its id.
    case dictionaryChanged
}

/// What applying a plan did.
struct SealOutcome: Equatable {
    /// Messages moved from pending into blocks.
    var sealed = 0
    var skipped: [ConversationID: SealSkip] = [:]
}

extension ChatWriter {
    /// Seals every pending message inside this transaction; returns how many.
    @discardableResult
    func sealPending() throws -> Int { try applySealing(try planSealing()).sealed }

    /// Writes the parts of `plan` whose inputs are unchanged; see the top of this file.
    @discardableResult
    func applySealing(_ plan: SealPlan) throws -> SealOutcome {
        var outcome = SealOutcome()
        if plan.newDictionary != nil, try !plannedDictionaryIsFree(plan) {
            for conversation in plan.conversations { outcome.skipped[conversation.id] = .dictionaryChanged }
            return outcome
        }
        var applied: [SealPlan.Conversation] = []
        for conversation in plan.conversations {
            if let reason = try changedInput(conversation) {
                outcome.skipped[conversation.id] = reason
            } else {
                applied.append(conversation)
            }
        }
        guard !applied.isEmpty else { return outcome }
        // Stored only with blocks that use it: ids only grow, and each is used.
        if let dictionary = plan.newDictionary { try put(Tree.dictionaries, Key.dictionary(dictionary.id), dictionary.encoded()) }
        var counters = try self.counters()
        for conversation in applied {
            // Deletes before puts: a rewritten block's first new piece may keep its key.
            for key in conversation.replaced {
                try delete(Tree.blocks, key)
                try delete(Tree.blockData, key)
            }
            for block in conversation.written {
                let key = Key.message(conversation.id, block.header.first)
                try put(Tree.blocks, key, block.header.encoded())
                try put(Tree.blockData, key, block.body)
            }
            for entry in conversation.pending { try delete(Tree.pending, entry.key) }
            counters.rawBytes += conversation.rawBytesDelta
            counters.storedBytes += conversation.storedBytesDelta
            outcome.sealed += conversation.pending.count
        }
        try saveCounters(counters)
        return outcome
    }

    /// True when the plan's new dictionary can still take its id: the newest stored is the one
    /// the plan saw.
    private func plannedDictionaryIsFree(_ plan: SealPlan) throws -> Bool {
        do {
            return try dictionaries.newest()?.id == plan.newestDictionaryID
        } catch ParleyError.corruptRecord(let tree, _) where tree == Tree.dictionaries {
            return false
        }
    }

    /// Why a conversation's part of a plan no longer applies, or nil when its inputs are as read.
    private func changedInput(_ conversation: SealPlan.Conversation) throws -> SealSkip? {
        for entry in conversation.pending {
            guard try storage({ try view.get(Tree.pending, entry.key) }) == entry.value else { return .pendingChanged }
        }
        let blocks = try storage { try view.entries(Tree.blocks, prefix: conversation.id.bytes) }
        guard blocks.count == conversation.blocks.count else { return .blocksChanged }
        for (seen, now) in zip(conversation.blocks, blocks) where seen.key != now.key || seen.header != now.value {
            return .blocksChanged
        }
        return nil
    }
}
