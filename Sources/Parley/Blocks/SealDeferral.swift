// Which conversations an automatic checkpoint leaves pending.
//
// Sealing appends to a conversation's open (not full) block by rewriting it: its body is
// decompressed, the new messages merged in and the whole compressed again with LZ4 HC. For a
// conversation that gets one short message between checkpoints, that is kilobytes recompressed
// for a hundred new bytes, and at the benchmark's standard scale it was most of what a checkpoint
// spent compressing. Such a conversation can wait: pending messages are legal at any time (reads
// merge them with blocks), and a later pass seals them together for the cost of one rewrite.
//
// The rule: a conversation whose open last block holds at least as many raw bytes as its pending
// messages is a candidate, unless it has already waited `maximumPasses` passes in a row;
// candidates wait in order of that ratio, the costliest first, while their pending bytes together
// stay within the limit. So the bytes left pending are bounded, and so is the wait: a
// conversation is sealed once its pending bytes outweigh its block, others cost more, or it has
// waited its passes (a quiet conversation keeps its ratio forever). A requested checkpoint
// (limit 0) seals everything. The passes waited are counted in memory by the open store
// (`StoreContext.sealDeferrals`); after a reopen they count from zero again.

import ParleyEngine

/// How many passes in a row each conversation has been left pending (only those left pending by
/// the last pass). Used by one sealing pass at a time: checkpoints run one at a time.
final class SealDeferralCounts: Sendable {
    /// The dictionary sits in a struct of its own so that opening a store does not build the
    /// dictionary's type: the Swift runtime would search every loaded image's conformances for
    /// `ConversationID: Hashable` (BENCHMARKS.md, section *Open, second pass*). The first pass
    /// that leaves a conversation pending does, on the checkpoint's thread.
    private struct Passes { var waited: [ConversationID: Int] = [:] }
    private let passes = Locked(Passes())

    /// A conversation is left pending at most this many automatic passes in a row.
    static let maximumPasses = 4

    var current: [ConversationID: Int] { passes.withLock { $0.waited } }

    /// Records the conversations a pass left pending; every other conversation starts again at 0.
    func record(deferred: Set<ConversationID>) {
        passes.withLock { passes in
            var next: [ConversationID: Int] = [:]
            for id in deferred { next[id] = (passes.waited[id] ?? 0) + 1 }
            passes.waited = next
        }
    }
}

extension ChatReader {
    /// The conversations to leave pending in this pass, their pending value bytes within `limit`,
    /// none of them one that has waited `SealDeferralCounts.maximumPasses` passes in a row.
    func conversationsToDefer(limit: Int, passesWaited: [ConversationID: Int] = [:]) throws -> Set<ConversationID> {
        guard limit > 0 else { return [] }
        var pendingBytes: [ConversationID: Int] = [:]
        let pending = try storage { try view.cursor(Tree.pending) }
        var entry = try storage { try pending.first() }
        while let (key, value) = entry {
            // A short key is reported by the plan itself; here it only counts for no one.
            if key.count >= 16, let id = ConversationID(bytes: Array(key[0..<16])) {
                pendingBytes[id, default: 0] += value.count
            }
            entry = try storage { try pending.next() }
        }

        var candidates: [(id: ConversationID, bytes: Int, openBlockBytes: Int)] = []
        let blocks = try storage { try view.cursor(Tree.blocks) }
        for (id, bytes) in pendingBytes where bytes <= limit && passesWaited[id, default: 0] < SealDeferralCounts.maximumPasses {
            guard let last = try storage({ try blocks.seek(atOrBefore: Key.conversationEnd(id)) }),
                last.key.starts(with: id.bytes)
            else { continue }
            // A damaged header is not a candidate: the plan reports it for its conversation.
            guard let header = try? BlockHeader(decoding: last.value, conversation: id), !header.full,
                header.rawLength >= bytes
            else { continue }
            candidates.append((id, bytes, header.rawLength))
        }
        // Costliest first: raw bytes rewritten per pending byte sealed (compared as products, so
        // no division); ties by id, so a pass is a function of the store's contents.
        candidates.sort { a, b in
            let left = a.openBlockBytes.multipliedFullWidth(by: b.bytes)
            let right = b.openBlockBytes.multipliedFullWidth(by: a.bytes)
            if left != right { return left > right }
            return a.id.bytes.lexicographicallyPrecedes(b.id.bytes)
        }
        var deferred: Set<ConversationID> = []
        var total = 0
        for candidate in candidates where candidate.bytes <= limit - total {
            deferred.insert(candidate.id)
            total += candidate.bytes
        }
        return deferred
    }
}
