// Recovery: the log's valid records after the trees' sequence become the memtable's active layer.
//
// A version-2 log is kept: its records are replayed into one `MemLayer` (no B+tree write and no
// log reset; one fdatasync of the log, `WriteAheadLog.syncKeptRecords`), and the next checkpoint
// moves them into the trees as it does any commit. The layer is built from the records' bytes in
// place: each operation is sliced out of its payload and kept as offsets into the log, each tree's
// entries are sorted, and only the newest write of each key is copied out, into a balanced map
// built at once instead of inserted one by one (the trees' maps on two threads).
//
// Invariants:
// - Replay gives the layer the commits would have built: operations apply in log order, the last
//   write of a key wins, a created or dropped tree hides everything below it, and entry counts move
//   by the log's own record of each change (an `insert` adds one, a `delete` removes one, a range
//   delete removes the keys the layers and trees held at that point).
// - A key whose writes since the tree's last settle, creation or drop run from an insert to a
//   delete has no entry: the insert says it was absent from everything below, as it is after, so
//   the layer reads the same without a tombstone (and counts by the log, not by its entries).
// - The layer's `lastSequence` is the last record's; the trees keep their own (`storage.logSequence`).
// - A version-1 log (unchained, left by an older build) is never kept, since appending after its
//   valid run could join a stale record: its records are written into the trees in one commit, as
//   that build did, and the log is reset.

import Dispatch

extension Engine {
    /// The layer holding the records `spans` of `body`, over the trees `base` (read only by range
    /// deletes). `spans` are consecutive, valid and well formed (`LogFormat.scanRun`). `slotBits`
    /// sizes the table of recent keys per tree (tests make it tiny, so that keys share slots).
    static func recoveredLayer(
        body: UnsafeRawBufferPointer, spans: ArraySlice<LogFormat.Span>, base: ReadTransaction, logPath: String,
        slotBits: Int = RecoveredLayerBuilder.defaultSlotBits
    ) throws -> MemLayer {
        var builder = RecoveredLayerBuilder(base: base, body: body, slotBits: slotBits)
        for span in spans {
            let payload = UnsafeRawBufferPointer(rebasing: body[span.payload])
            let wellFormed = try LogOperation.forEach(payload) { try builder.apply($0) }
            guard wellFormed else {
                throw EngineError.corruptFile(path: logPath, reason: "record \(span.sequence) changed while it was replayed")
            }
        }
        return try builder.finish(lastSequence: spans.last?.sequence ?? 0)
    }

    /// Writes the records of an unchained (version-1) log into the trees in one commit.
    static func writeUnchained(
        body: UnsafeRawBufferPointer, spans: ArraySlice<LogFormat.Span>, into storage: StorageEngine, logPath: String
    ) throws {
        guard let last = spans.last else { return }
        try storage.write { txn in
            for span in spans {
                guard let operations = LogOperation.decode(UnsafeRawBufferPointer(rebasing: body[span.payload])) else {
                    throw EngineError.corruptFile(path: logPath, reason: "record \(span.sequence) changed while it was replayed")
                }
                try apply(operations, to: txn)
            }
            txn.logSequence = last.sequence
        }
    }
}

/// Collects a log's operations per tree and builds the layer they make. Entries are kept as
/// ranges of the log body until a tree's map is built, so a write that a later one replaces (a
/// conversation's record, rewritten at every append) is never copied: only the newest write of
/// each key becomes a key and a value on the heap. Use it only while the body is mapped.
struct RecoveredLayerBuilder {
    private let base: ReadTransaction
    private let body: UnsafeRawBufferPointer
    /// Trees in order of first appearance: raw name, name, overlay so far, and the entries written
    /// since the overlay's map was last brought up to date, in log order.
    private var names: [Bytes] = []
    private var strings: [String] = []
    private var overlays: [TreeOverlay] = []
    private var unsorted: [[BodyEntry]] = []
    /// Per tree, a table of `1 << slotBits` slots, each the index in `unsorted` of the entry last
    /// collected for a key hashed there (-1 for none) and that key's hash; empty until the tree's
    /// first write. A write whose key it finds replaces that entry in place, so a key rewritten at
    /// every append (a conversation's record) is sorted once, not once per write. A lost slot (two
    /// keys hashed alike) only leaves an older write for the sort to drop. The hash is checked
    /// before the entry is read: most new keys then never touch an old entry (a cache miss).
    private var latest: [[Slot]] = []
    private let slotBits: Int
    /// Writes collected so far: each entry's place in the log, newer writes higher.
    private var written = 0
    private var last = -1

    /// 4,096 slots: a chat log's keys come back after a few hundred other writes at most.
    static let defaultSlotBits = 12

    init(base: ReadTransaction, body: UnsafeRawBufferPointer, slotBits: Int = defaultSlotBits) {
        self.base = base
        self.body = body
        self.slotBits = max(0, min(slotBits, 20))
    }

    /// The index of tree `name`, added when new (a record names few trees, and mostly the same one
    /// as the operation before).
    private mutating func index(of name: UnsafeRawBufferPointer) -> Int {
        if last >= 0, compareBytes(names[last], name) == 0 { return last }
        for i in names.indices where compareBytes(names[i], name) == 0 {
            last = i
            return i
        }
        names.append(Bytes(name))
        strings.append(String(decoding: name, as: UTF8.self))
        overlays.append(TreeOverlay())
        unsorted.append([])
        latest.append([])
        last = names.count - 1
        return last
    }

    /// Where `slice` (a part of `body`) starts in `body`.
    private func offset(of slice: UnsafeRawBufferPointer) -> Int {
        guard let start = slice.baseAddress, let origin = body.baseAddress else { return 0 }
        return origin.distance(to: start)
    }

    /// Collects a write of tree `i`: `inserted` when the log records the key as absent before it
    /// (an `insert`).
    private mutating func collect(_ i: Int, _ operation: LogOperation.Fields, tombstone: Bool, inserted: Bool = false) {
        let key = operation.key
        let prefix = BodyEntry.Prefix(key)
        let value = tombstone ? -1 : offset(of: operation.value)
        let valueCount = tombstone ? 0 : operation.value.count
        written += 1
        if latest[i].isEmpty { latest[i] = Array(repeating: Slot(index: -1, hash: 0), count: 1 << slotBits) }
        let hash = prefix.hash(count: key.count)
        let slot = self.slot(hash)
        let found = latest[i][slot].index
        // Equal prefixes and lengths make keys of up to 24 bytes equal; longer ones are compared.
        if found >= 0, latest[i][slot].hash == hash, unsorted[i][found].prefix == prefix, unsorted[i][found].keyCount == key.count,
           key.count <= BodyEntry.Prefix.width || compareBytes(self.key(unsorted[i][found]), key) == 0 {
            if tombstone && unsorted[i][found].bornByInsert {
                // The entry's writes are consecutive writes of the key (a later one would have
                // found it here), from an insert (absent before) to this delete (absent after):
                // together they change nothing, so the entry goes before it is ever sorted.
                removeCollected(i, at: found, slot: slot)
                return
            }
            unsorted[i][found].value = value
            unsorted[i][found].valueCount = valueCount
            unsorted[i][found].position = written
            return
        }
        latest[i][slot] = Slot(index: unsorted[i].count, hash: hash)
        unsorted[i].append(BodyEntry(
            prefix: prefix, key: offset(of: key), keyCount: key.count, value: value, valueCount: valueCount, position: written,
            bornByInsert: inserted))
    }

    private func slot(_ hash: UInt64) -> Int {
        slotBits > 0 ? Int(truncatingIfNeeded: hash >> UInt64(64 - slotBits)) : 0
    }

    /// Removes tree `i`'s entry `index`, found through `slot`: the last entry takes its place (the
    /// order of collection does not matter, positions keep the log's), and its slot follows it.
    private mutating func removeCollected(_ i: Int, at index: Int, slot: Int) {
        latest[i][slot] = Slot(index: -1, hash: 0)
        let last = unsorted[i].count - 1
        if index != last {
            let moved = unsorted[i][last]
            unsorted[i][index] = moved
            let movedSlot = self.slot(moved.prefix.hash(count: moved.keyCount))
            // The slot holds `last` only if it still speaks for the moved entry's key.
            if latest[i][movedSlot].index == last { latest[i][movedSlot].index = index }
        }
        unsorted[i].removeLast()
    }

    /// Forgets tree `i`'s collected entries (and the slots that point into them).
    private mutating func clearCollected(_ i: Int) {
        unsorted[i] = []
        latest[i] = []
    }

    mutating func apply(_ operation: LogOperation.Fields) throws {
        let i = index(of: operation.tree)
        switch operation.kind {
        case .createTree:
            clearCollected(i)
            overlays[i] = TreeOverlay(exists: true, hidesBelow: true)
        case .dropTree:
            clearCollected(i)
            overlays[i] = TreeOverlay(exists: false, hidesBelow: true)
        case .put:
            collect(i, operation, tombstone: false)
        case .insert:
            collect(i, operation, tombstone: false, inserted: true)
            overlays[i].countDelta += 1
        case .delete:
            collect(i, operation, tombstone: true)
            overlays[i].countDelta -= 1
        case .deleteRange:
            // Which keys it removed depends on everything before it: bring the tree up to date.
            settle(i)
            let view = LayeredView(layers: [MemLayer(trees: [strings[i]: overlays[i]])], base: base)
            guard try view.treeExists(strings[i]) else { return }
            let keys = try view.cursor(strings[i]).keys(from: Bytes(operation.key), to: Bytes(operation.value))
            for key in keys { overlays[i].entries.set(key, .tombstone) }
            overlays[i].countDelta -= Int64(keys.count)
        }
    }

    private func key(_ entry: BodyEntry) -> UnsafeRawBufferPointer { Self.key(entry, in: body) }

    private static func key(_ entry: BodyEntry, in body: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: body[entry.key..<(entry.key + entry.keyCount)])
    }

    /// The entry as the memtable holds it: its key and value copied out of the body.
    private static func materialize(_ entry: BodyEntry, in body: UnsafeRawBufferPointer) -> (Bytes, MemValue) {
        let value: MemValue = entry.value < 0
            ? .tombstone : .put(Bytes(UnsafeRawBufferPointer(rebasing: body[entry.value..<(entry.value + entry.valueCount)])))
        return (Bytes(key(entry, in: body)), value)
    }

    /// Moves tree `i`'s collected entries into its map.
    private mutating func settle(_ i: Int) {
        guard !unsorted[i].isEmpty else { return }
        var entries = unsorted[i]
        clearCollected(i)
        Self.settle(&entries, into: &overlays[i], body: body)
    }

    /// Moves `entries` (collected in log order, sorted here in place) into `overlay`'s map: the
    /// last write of each key wins.
    private static func settle(_ entries: inout [BodyEntry], into overlay: inout TreeOverlay, body: UnsafeRawBufferPointer) {
        guard !entries.isEmpty else { return }
        // Sorted by key, then by log position, so the last of equal keys is the newest write. Keys
        // are compared by their first 24 bytes as integers, and in full only when those agree
        // and one is longer than that.
        entries.withUnsafeMutableBufferPointer { entries in
            entries.sort { a, b in
                if a.prefix != b.prefix { return a.prefix < b.prefix }
                if a.keyCount <= BodyEntry.Prefix.width && b.keyCount <= BodyEntry.Prefix.width {
                    // Zero-padded alike: the shorter key is a prefix of the longer one.
                    return a.keyCount != b.keyCount ? a.keyCount < b.keyCount : a.position < b.position
                }
                let c = compareBytes(key(a, in: body), key(b, in: body))
                return c != 0 ? c < 0 : a.position < b.position
            }
        }
        // The newest write of each key: the last of each group of equal keys. A key whose first
        // write here was an insert (absent from everything below) and whose last is a delete is
        // absent below as it is after: it needs no tombstone, and gets no entry at all (an inbox or
        // status key, written at one append and deleted at the next, is most of a chat log's).
        var newest: [Int] = []
        newest.reserveCapacity(entries.count)
        var groupStart = 0
        for n in entries.indices {
            if n + 1 < entries.count, entries[n].prefix == entries[n + 1].prefix, entries[n].keyCount == entries[n + 1].keyCount,
               compareBytes(key(entries[n], in: body), key(entries[n + 1], in: body)) == 0 { continue }
            let vanished = entries[groupStart].bornByInsert && entries[n].value < 0
            groupStart = n + 1
            if !vanished { newest.append(n) }
        }
        if overlay.entries.isEmptyMap {
            overlay.entries = PersistentMap(sortedCount: newest.count) { materialize(entries[newest[$0]], in: body) }
        } else {
            for n in newest {
                let (key, value) = materialize(entries[n], in: body)
                overlay.entries.set(key, value)
            }
        }
    }

    /// The layer: each tree's entries moved into its map, the trees shared out between two
    /// threads (each map is built from its own entries and the body alone).
    mutating func finish(lastSequence: UInt64) throws -> MemLayer {
        // The largest lists first, each to the thread with fewer entries so far.
        var shares: [[Int]] = [[], []]
        var loads = [0, 0]
        for i in names.indices.sorted(by: { unsorted[$0].count > unsorted[$1].count }) {
            let thread = loads[0] <= loads[1] ? 0 : 1
            shares[thread].append(i)
            loads[thread] += unsorted[i].count
        }
        let split = shares
        // Moved out of the builder, so that the lists are sorted and the maps only this builder
        // holds are changed in place (not copied first).
        let lists = UnsafeMutableBufferPointer<[BodyEntry]>.allocate(capacity: unsorted.count)
        _ = lists.initialize(from: unsorted)
        for i in names.indices { clearCollected(i) }
        defer { lists.deinitialize().deallocate() }
        let results = UnsafeMutableBufferPointer<TreeOverlay>.allocate(capacity: overlays.count)
        _ = results.initialize(from: overlays)
        overlays = []
        defer { results.deinitialize().deallocate() }
        let work = SettleWork(lists: lists, overlays: results, body: body)
        DispatchQueue.concurrentPerform(iterations: split[1].isEmpty ? 1 : 2) { thread in
            // Each thread touches only its own trees' overlays.
            for i in split[thread] { Self.settle(&work.lists[i], into: &work.overlays[i], body: work.body) }
        }
        let built = Array(results)
        var layer = MemLayer()
        for i in names.indices { layer.trees[strings[i]] = built[i] }
        layer.lastSequence = lastSequence
        return layer
    }
}

/// What `RecoveredLayerBuilder.finish` hands to its threads: the body stays mapped and each tree's
/// list and overlay are touched by one thread only, until both have finished.
private struct SettleWork: @unchecked Sendable {
    let lists: UnsafeMutableBufferPointer<[BodyEntry]>
    let overlays: UnsafeMutableBufferPointer<TreeOverlay>
    let body: UnsafeRawBufferPointer
}

/// A slot of `RecoveredLayerBuilder`'s table of recent keys.
private struct Slot {
    var index: Int
    var hash: UInt64
}

/// An entry written to a tree, as offsets into the log body (no copy), with the first 24 bytes of
/// its key as integers and its place in the log: integer comparisons order most keys without
/// reading them.
private struct BodyEntry {
    var prefix: Prefix
    var key: Int
    var keyCount: Int
    /// -1 for a tombstone.
    var value: Int
    var valueCount: Int
    var position: Int
    /// Whether the first write of the key collected (in this run: since the tree's last settle,
    /// creation or drop) was an insert. A write replacing the entry in place leaves it as it is.
    var bornByInsert: Bool

    /// A key's first 24 bytes as three big-endian integers, zero-padded: keys equal in those bytes
    /// (or one a zero-padded prefix of the other) are compared in full.
    struct Prefix: Comparable {
        var a: UInt64, b: UInt64, c: UInt64

        static let width = 24

        init(_ key: UnsafeRawBufferPointer) {
            var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
            withUnsafeMutableBytes(of: &words) { raw in
                raw.copyMemory(from: UnsafeRawBufferPointer(rebasing: key.prefix(Self.width)))
            }
            a = UInt64(bigEndian: words.0)
            b = UInt64(bigEndian: words.1)
            c = UInt64(bigEndian: words.2)
        }

        /// A hash of this prefix and a key length `count` (multiplicative: its top bits, which
        /// pick a slot, mix every bit of the words).
        func hash(count: Int) -> UInt64 {
            let mixed = (a &* 0x9E37_79B9_7F4A_7C15) ^ (b &* 0xC2B2_AE3D_27D4_EB4F) ^ (c &* 0x1656_67B1_9E37_79F9)
                ^ UInt64(truncatingIfNeeded: count)
            return mixed &* 0x9E37_79B9_7F4A_7C15
        }

        static func < (l: Prefix, r: Prefix) -> Bool { (l.a, l.b, l.c) < (r.a, r.b, r.c) }
    }
}
