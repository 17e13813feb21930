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
// Eviction is a clock (second chance): entries queue in the order they came; a lookup marks its
// entry; when the held cost passes the budget, the oldest entries go, except that a marked one
// loses its mark and goes to the back of the queue instead. Each insertion frees about what it
// adds, so no reader pays for emptying a large part of the cache at once (two generations, the
// first design, dropped half the budget, tens of thousands of messages, inside one read), and
// the cache holds close to its whole budget all the time rather than between half and all of it.
//
// Admission: once the cache is full, a block decoded for the first time in a while is not kept (its
// messages still answer the query that read it). Only a block missed again while its slot is among
// the last `ghostLimit` turned away is let in. A conversation's history read once (a long range
// query walks dozens of blocks) then no longer pushes out the blocks that readers come back to.
// At the standard benchmark's scale the blocks range queries read are about twice the budget, and
// letting every decoded block in evicted blocks read again soon after. The ring's size, an eighth
// of the blocks held, was the fastest of a half to a thirty-second there (BENCHMARKS.md). Each
// block turned away costs one place in the ring and a table entry.
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
    /// How many blocks turned away are remembered (so that a second miss lets them in); nil for
    /// an eighth of the blocks held when the cache first turns one away.
    let ghostLimit: Int?
    private let state = Locked(Contents())
    /// The slot a key is filed under (tests give one that sends every key to the same slot).
    private let slot: @Sendable ([UInt8]) -> UInt64

    private struct Entry {
        let key: [UInt8]
        let messages: [Message]
        let cost: Int
        /// Looked up since the clock last passed it.
        var marked: Bool
    }

    private struct Contents {
        var entries: [UInt64: Entry] = [:]
        /// Every slot in `entries` exactly once, oldest first from `head` (the clock's queue).
        var queue: [UInt64] = []
        var head = 0
        var heldCost = 0
        var hits = 0
        var misses = 0
        /// Slots of blocks turned away, to their place in `ghostRing`; a slot let in leaves the
        /// table, and one whose ring place is taken by a newer one leaves it then.
        var ghosts: [UInt64: Int] = [:]
        /// The slots turned away, the oldest overwritten first once `ghostLimit` are held.
        var ghostRing: [UInt64] = []
        var ghostNext = 0
        var turnedAway = 0
        /// Set when the cache first turns a block away (see `ghostLimit`).
        var ghostLimit = 0
    }

    /// `ghostLimit`: how many blocks turned away are remembered, by default an eighth of the
    /// blocks the cache holds when it first turns one away (a fixed count for tests).
    init(capacity: Int, ghostLimit: Int? = nil, slot: @escaping @Sendable ([UInt8]) -> UInt64 = DecodedBlockCache.hash) {
        self.capacity = max(0, capacity)
        self.ghostLimit = ghostLimit.map { max(1, $0) }
        self.slot = slot
    }

    static func hash(_ key: [UInt8]) -> UInt64 {
        var hasher = Hasher()
        key.withUnsafeBytes { hasher.combine(bytes: $0) }
        return UInt64(bitPattern: Int64(hasher.finalize()))
    }

    /// The key of a block: its conversation and its header's bytes.
    static func key(conversation: ConversationID, header: [UInt8]) -> [UInt8] { conversation.bytes + header }

    /// Heap bytes a decoded message holds beyond its raw bytes: its place in the array (one
    /// reference), its storage object (``Message/storageBytes``) and its text's string object (a
    /// 32-byte header, the allocator's 8-byte header and rounding to 16). Texts of 15 bytes or
    /// fewer live inside the storage, so this overestimates them; a message with a content type,
    /// attachments or metadata holds one more object for them (80 bytes) beyond their raw bytes,
    /// which this leaves out.
    static let messageOverhead = MemoryLayout<Message>.stride + Message.storageBytes + 48

    /// What a block's messages are charged: their raw bytes plus each message's overhead.
    static func cost(rawLength: Int, count: Int) -> Int { rawLength + messageOverhead * count }

    func messages(_ key: [UInt8]) -> [Message]? {
        guard capacity > 0 else { return nil }
        let slot = slot(key)
        return state.withLock { state in
            // Served only for the whole key: another key may share the slot.
            guard let entry = state.entries[slot], entry.key == key else {
                state.misses += 1
                return nil
            }
            state.hits += 1
            if !entry.marked { state.entries[slot]?.marked = true }
            return entry.messages
        }
    }

    func remember(_ key: [UInt8], _ messages: [Message], cost: Int) {
        // A block larger than half the budget would only push most of the rest out.
        guard capacity > 0, cost <= capacity / 2 else { return }
        let slot = slot(key)
        // Freeing a block's messages is left until the lock is released, so that other readers'
        // lookups do not wait for it.
        let released = state.withLock { state -> [Entry] in
            var released: [Entry] = []
            let replaced = state.entries[slot]
            if replaced == nil, state.heldCost + cost > capacity, !Self.letGhostIn(&state, slot) {
                if state.ghostLimit == 0 { state.ghostLimit = ghostLimit ?? max(16, state.entries.count / 8) }
                Self.turnAway(&state, slot, limit: state.ghostLimit)
                return released
            }
            // Unmarked until a lookup finds it: marked from the start, every entry would lose its
            // mark in one sweep and the clock would fall back to first in, first out.
            let entry = Entry(key: key, messages: messages, cost: cost, marked: false)
            if let replaced {
                // Same slot (the same block decoded by two readers, or another key under the
                // same hash): it keeps its place in the queue.
                state.entries[slot] = entry
                state.heldCost += cost - replaced.cost
                released.append(replaced)
                Self.evict(&state, capacity: capacity, into: &released)
            } else {
                // Room is made before the entry joins the queue: behind marked entries that the
                // sweep sends to the back, it would be the first unmarked one the sweep meets.
                Self.evict(&state, capacity: capacity - cost, into: &released)
                state.entries[slot] = entry
                state.queue.append(slot)
                state.heldCost += cost
            }
            return released
        }
        withExtendedLifetime(released) {}
    }

    /// True when `slot` was turned away recently (it then leaves the ghosts: it is let in now).
    private static func letGhostIn(_ state: inout Contents, _ slot: UInt64) -> Bool {
        state.ghosts.removeValue(forKey: slot) != nil
    }

    private static func turnAway(_ state: inout Contents, _ slot: UInt64, limit: Int) {
        state.turnedAway += 1
        let place = state.ghostNext
        if place < state.ghostRing.count {
            let oldest = state.ghostRing[place]
            // Only if that slot's latest turning away is this place (not a later one, nor let in).
            if state.ghosts[oldest] == place { state.ghosts[oldest] = nil }
            state.ghostRing[place] = slot
        } else {
            state.ghostRing.append(slot)
        }
        state.ghosts[slot] = place
        state.ghostNext = place + 1 == limit ? 0 : place + 1
    }

    /// Takes entries from the front of the queue until the held cost fits the budget. Each pass
    /// over a marked entry clears its mark, so within two turns of the queue an entry goes.
    private static func evict(_ state: inout Contents, capacity: Int, into released: inout [Entry]) {
        while state.heldCost > capacity, state.head < state.queue.count {
            let slot = state.queue[state.head]
            state.head += 1
            guard let entry = state.entries[slot] else { continue }
            if entry.marked {
                state.entries[slot]?.marked = false
                state.queue.append(slot)
            } else {
                state.entries[slot] = nil
                state.heldCost -= entry.cost
                released.append(entry)
            }
        }
        // The consumed front is dropped once it is most of the array (amortized O(1) a step).
        if state.head > 1_024, state.head * 2 > state.queue.count {
            state.queue.removeFirst(state.head)
            state.head = 0
        }
    }

    /// Lookups answered from the cache and lookups that missed, since open.
    var statistics: (hits: Int, misses: Int) { state.withLock { ($0.hits, $0.misses) } }

    /// Decoded blocks not kept because the cache was full and they were not missed recently.
    var turnedAwayCount: Int { state.withLock { $0.turnedAway } }

    /// Estimated bytes held now.
    var heldCost: Int { state.withLock { $0.heldCost } }

    /// Blocks held now.
    var count: Int { state.withLock { $0.entries.count } }
}
