// Decoded message blocks, shared by every reader of an open store, so that a conversation read
// again (the newest page of a busy chat) is not decompressed and decoded again.
//
// Why a block's identity is safe as the key: messages are immutable and their ids are never
// reused while the store is open, and a block's header names its conversation's first and last
// positions, its count, its lengths, its dictionary and the CRC-32C of its body. A block rewritten
// by sealing or a purge has another header, so a stale entry can never be found; it only ages out.
// Only committed blocks reach a reader's view or a sealing pass, so an aborted transaction cannot
// leave an entry behind either.
//
// Eviction keeps two generations: lookups promote from the older one, and when the newer one
// holds half the budget the older one is dropped. Memory stays within the budget without
// per-entry bookkeeping.

import ParleyEngine

final class DecodedBlockCache: Sendable {
    /// Budget in estimated bytes of decoded messages; 0 disables the cache.
    let capacity: Int
    private let state = Locked(Generations())

    private struct Entry {
        let messages: [Message]
        let cost: Int
    }

    /// A key hashed as one run of bytes: `[UInt8]`'s own hashing feeds the hasher a byte at a
    /// time, which showed in every lookup of a cached read.
    private struct Key: Hashable {
        let bytes: [UInt8]

        func hash(into hasher: inout Hasher) {
            bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        }

        static func == (a: Key, b: Key) -> Bool { a.bytes == b.bytes }
    }

    private struct Generations {
        var newer: [Key: Entry] = [:]
        var older: [Key: Entry] = [:]
        var newerCost = 0
        var hits = 0
        var misses = 0
    }

    init(capacity: Int) { self.capacity = max(0, capacity) }

    /// The key of a block: its conversation and its header's bytes.
    static func key(conversation: ConversationID, header: [UInt8]) -> [UInt8] { conversation.bytes + header }

    /// What a block's messages are charged: their raw bytes plus the strings' and array's overhead.
    static func cost(rawLength: Int, count: Int) -> Int { rawLength + 96 * count }

    func messages(_ bytes: [UInt8]) -> [Message]? {
        guard capacity > 0 else { return nil }
        let key = Key(bytes: bytes)
        return state.withLock { state in
            if let entry = state.newer[key] {
                state.hits += 1
                return entry.messages
            }
            guard let entry = state.older.removeValue(forKey: key) else {
                state.misses += 1
                return nil
            }
            state.hits += 1
            Self.insert(entry, key, into: &state, capacity: capacity)
            return entry.messages
        }
    }

    func remember(_ bytes: [UInt8], _ messages: [Message], cost: Int) {
        // A block larger than a generation would only push everything else out.
        guard capacity > 0, cost <= capacity / 2 else { return }
        let key = Key(bytes: bytes)
        state.withLock { state in Self.insert(Entry(messages: messages, cost: cost), key, into: &state, capacity: capacity) }
    }

    private static func insert(_ entry: Entry, _ key: Key, into state: inout Generations, capacity: Int) {
        if state.newerCost + entry.cost > capacity / 2 {
            state.older = state.newer
            state.newer = [:]
            state.newerCost = 0
        }
        if let replaced = state.newer.updateValue(entry, forKey: key) { state.newerCost -= replaced.cost }
        state.newerCost += entry.cost
    }

    /// Lookups answered from the cache and lookups that missed, since open.
    var statistics: (hits: Int, misses: Int) { state.withLock { ($0.hits, $0.misses) } }

    /// Estimated bytes held now.
    var heldCost: Int { state.withLock { $0.newerCost + $0.older.values.reduce(0) { $0 + $1.cost } } }
}
