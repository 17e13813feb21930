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
//
// Entries are filed under a 64-bit hash of their key and keep the whole key, which a lookup
// compares: a table keyed by the bytes themselves made every process's first read build its type
// at run time, searching every loaded image for Array's and UInt8's `Hashable` conformances (a
// tenth of a fresh process's open and first `recent`); the engine's own tables already use
// UInt64 keys. Two keys under one hash share a slot: the newer replaces the older, a miss later.

import ParleyEngine

final class DecodedBlockCache: Sendable {
    /// Budget in estimated bytes of decoded messages; 0 disables the cache.
    let capacity: Int
    private let state = Locked(Generations())
    /// The slot a key is filed under (tests give one that sends every key to the same slot).
    private let slot: @Sendable ([UInt8]) -> UInt64

    private struct Entry {
        let key: [UInt8]
        let messages: [Message]
        let cost: Int
    }

    private struct Generations {
        var newer: [UInt64: Entry] = [:]
        var older: [UInt64: Entry] = [:]
        var newerCost = 0
        var hits = 0
        var misses = 0
    }

    init(capacity: Int, slot: @escaping @Sendable ([UInt8]) -> UInt64 = DecodedBlockCache.hash) {
        self.capacity = max(0, capacity)
        self.slot = slot
    }

    static func hash(_ key: [UInt8]) -> UInt64 {
        var hasher = Hasher()
        key.withUnsafeBytes { hasher.combine(bytes: $0) }
        return UInt64(bitPattern: Int64(hasher.finalize()))
    }

    /// The key of a block: its conversation and its header's bytes.
    static func key(conversation: ConversationID, header: [UInt8]) -> [UInt8] { conversation.bytes + header }

    /// What a block's messages are charged: their raw bytes plus the strings' and array's overhead.
    static func cost(rawLength: Int, count: Int) -> Int { rawLength + 96 * count }

    func messages(_ key: [UInt8]) -> [Message]? {
        guard capacity > 0 else { return nil }
        let slot = slot(key)
        return state.withLock { state in
            // Served only for the whole key: another key may share the slot.
            if let entry = state.newer[slot], entry.key == key {
                state.hits += 1
                return entry.messages
            }
            guard let entry = state.older[slot], entry.key == key else {
                state.misses += 1
                return nil
            }
            state.older[slot] = nil
            state.hits += 1
            Self.insert(entry, slot, into: &state, capacity: capacity)
            return entry.messages
        }
    }

    func remember(_ key: [UInt8], _ messages: [Message], cost: Int) {
        // A block larger than a generation would only push everything else out.
        guard capacity > 0, cost <= capacity / 2 else { return }
        let slot = slot(key)
        state.withLock { state in
            Self.insert(Entry(key: key, messages: messages, cost: cost), slot, into: &state, capacity: capacity)
        }
    }

    private static func insert(_ entry: Entry, _ slot: UInt64, into state: inout Generations, capacity: Int) {
        if state.newerCost + entry.cost > capacity / 2 {
            state.older = state.newer
            state.newer = [:]
            state.newerCost = 0
        }
        if let replaced = state.newer.updateValue(entry, forKey: slot) { state.newerCost -= replaced.cost }
        state.newerCost += entry.cost
    }

    /// Lookups answered from the cache and lookups that missed, since open.
    var statistics: (hits: Int, misses: Int) { state.withLock { ($0.hits, $0.misses) } }

    /// Estimated bytes held now.
    var heldCost: Int { state.withLock { $0.newerCost + $0.older.values.reduce(0) { $0 + $1.cost } } }
}
