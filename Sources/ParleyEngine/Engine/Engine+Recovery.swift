// Recovery: the log's valid records after the trees' sequence become the memtable's active layer.
//
// A version-2 log is kept: its records are replayed into one `MemLayer` (no B+tree write and no
// log reset; one fdatasync of the log, `WriteAheadLog.syncKeptRecords`), and the next checkpoint
// moves them into the trees as it does any commit. The layer is built from the records' bytes in
// place: each operation is sliced out of its payload and kept as offsets into the log, each tree's
// entries are sorted, and only the newest write of each key is copied out, into a balanced map
// built at once instead of inserted one by one. Trees replay independently, so two workers share
// them (`RecoveryShares`): each reads the whole log, keeps its own trees' operations and builds
// their maps.
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

import CParleySupport
import Dispatch

extension Engine {
    /// The layer holding the records `spans` of `body`, over the trees that `openBase` opens a
    /// snapshot of (read only by range deletes, each worker through its own). `spans` are
    /// consecutive, valid and well formed (`LogFormat.scanRun`). The trees are shared between
    /// `workers` threads (`RecoveryShares`; logs of fewer than `minimumRecords` records go to one).
    /// `slotBits` sizes the table of recent keys per tree (tests make it tiny, so that keys share
    /// slots).
    static func recoveredLayer(
        body: UnsafeRawBufferPointer, spans: ArraySlice<LogFormat.Span>, openBase: @escaping @Sendable () throws -> ReadTransaction,
        logPath: String, slotBits: Int = RecoveredLayerBuilder.defaultSlotBits, workers: Int = 2,
        minimumRecords: Int = RecoveryShares.parallelMinimum
    ) throws -> MemLayer {
        let shares = RecoveryShares(body: body, spans: spans, workers: workers, minimumRecords: minimumRecords)
        let lastSequence = spans.last?.sequence ?? 0
        guard shares.workers == 2 else {
            var builder = RecoveredLayerBuilder(openBase: openBase, body: body, slotBits: slotBits)
            defer { builder.closeBase() }
            try replay(spans, of: body, into: &builder, logPath: logPath)
            return try builder.finish(lastSequence: lastSequence, threads: 2)
        }
        let results = UnsafeMutableBufferPointer<Result<MemLayer, any Error>?>.allocate(capacity: 2)
        results.initialize(repeating: nil)
        defer { results.deinitialize().deallocate() }
        let work = ReplayWork(body: body, spans: spans, openBase: openBase, logPath: logPath, slotBits: slotBits, shares: shares, results: results)
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            // Each worker writes only its own result slot; its builder keeps only its own trees.
            work.results[worker] = Result {
                var builder = RecoveredLayerBuilder(
                    openBase: work.openBase, body: work.body, slotBits: work.slotBits, owns: { work.shares.owner(of: $0) == worker })
                defer { builder.closeBase() }
                try replay(work.spans, of: work.body, into: &builder, logPath: work.logPath)
                return try builder.finish(lastSequence: lastSequence, threads: 1)
            }
        }
        // Both slots are set once `concurrentPerform` returns; an empty one would be a bug here.
        guard var layer = try results[0]?.get(), let other = try results[1]?.get() else {
            throw EngineError.corruptFile(path: logPath, reason: "a recovery worker did not finish")
        }
        // No tree has two owners, so no name is in both.
        layer.trees.merge(other.trees) { mine, _ in mine }
        return layer
    }

    /// Applies every operation of `spans` to `builder`, in log order.
    private static func replay(
        _ spans: ArraySlice<LogFormat.Span>, of body: UnsafeRawBufferPointer, into builder: inout RecoveredLayerBuilder, logPath: String
    ) throws {
        for span in spans {
            let payload = UnsafeRawBufferPointer(rebasing: body[span.payload])
            let wellFormed = try LogOperation.forEach(payload) { try builder.apply($0) }
            guard wellFormed else {
                throw EngineError.corruptFile(path: logPath, reason: "record \(span.sequence) changed while it was replayed")
            }
        }
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
    private let openBase: () throws -> ReadTransaction
    /// The trees below, opened by the first range delete.
    private var base: ReadTransaction?
    private let body: UnsafeRawBufferPointer
    /// Whether this builder replays a tree, by raw name (the others' operations are skipped).
    private let owns: (Bytes) -> Bool
    /// Trees in order of first appearance: raw name, name, overlay so far, and the entries written
    /// since the overlay's map was last brought up to date, in log order.
    private var names: [Bytes] = []
    private var strings: [String] = []
    private var owned: [Bool] = []
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

    init(
        openBase: @escaping () throws -> ReadTransaction, body: UnsafeRawBufferPointer, slotBits: Int = defaultSlotBits,
        owns: @escaping (Bytes) -> Bool = { _ in true }
    ) {
        self.openBase = openBase
        self.body = body
        self.slotBits = max(0, min(slotBits, 20))
        self.owns = owns
    }

    /// Closes the snapshot of the trees below, if a range delete opened one.
    mutating func closeBase() {
        base?.close()
        base = nil
    }

    /// The index of tree `name`, added when new (a record names few trees, and mostly the same one
    /// as the operation before).
    private mutating func index(of name: UnsafeRawBufferPointer) -> Int {
        if last >= 0, compareBytes(names[last], name) == 0 { return last }
        for i in names.indices where compareBytes(names[i], name) == 0 {
            last = i
            return i
        }
        let raw = Bytes(name)
        names.append(raw)
        owned.append(owns(raw))
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
           key.count <= BodyEntry.Prefix.width || compareBytes(unsorted[i][found].key(in: body), key) == 0 {
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
        guard owned[i] else { return }
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
            let base = try self.base ?? openBase()
            self.base = base
            let view = LayeredView(layers: [MemLayer(trees: [strings[i]: overlays[i]])], base: base)
            guard try view.treeExists(strings[i]) else { return }
            let keys = try view.cursor(strings[i]).keys(from: Bytes(operation.key), to: Bytes(operation.value))
            for key in keys { overlays[i].entries.set(key, .tombstone) }
            overlays[i].countDelta -= Int64(keys.count)
        }
    }

    /// How many entries ahead of the one it copies the map's build asks for an entry's bytes.
    static let prefetchDistance = 8

    /// Starts loading the cache lines of `entry`'s key and value.
    private static func prefetch(_ entry: BodyEntry, in body: UnsafeRawBufferPointer) {
        guard let origin = body.baseAddress else { return }
        parley_prefetch(origin + entry.key)
        if entry.value >= 0 {
            parley_prefetch(origin + entry.value)
            if entry.valueCount > 64 { parley_prefetch(origin + entry.value + entry.valueCount - 1) }
        }
    }

    /// The entry as the memtable holds it: its key and value copied out of the body.
    private static func materialize(_ entry: BodyEntry, in body: UnsafeRawBufferPointer) -> (Bytes, MemValue) {
        let value: MemValue = entry.value < 0
            ? .tombstone : .put(Bytes(UnsafeRawBufferPointer(rebasing: body[entry.value..<(entry.value + entry.valueCount)])))
        return (Bytes(entry.key(in: body)), value)
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
        BodyEntry.sortByKey(&entries, body: body)
        // The newest write of each key: the last of each group of equal keys. A key whose first
        // write here was an insert (absent from everything below) and whose last is a delete is
        // absent below as it is after: it needs no tombstone, and gets no entry at all (an inbox or
        // status key, written at one append and deleted at the next, is most of a chat log's).
        var newest: [Int] = []
        newest.reserveCapacity(entries.count)
        var groupStart = 0
        for n in entries.indices {
            if n + 1 < entries.count, entries[n].prefix == entries[n + 1].prefix, entries[n].keyCount == entries[n + 1].keyCount,
               compareBytes(entries[n].key(in: body), entries[n + 1].key(in: body)) == 0 { continue }
            let vanished = entries[groupStart].bornByInsert && entries[n].value < 0
            groupStart = n + 1
            if !vanished { newest.append(n) }
        }
        if overlay.entries.isEmptyMap {
            overlay.entries = PersistentMap(sortedCount: newest.count) { rank in
                // The map is built in key order, which jumps about the log (a 64 MiB log is far
                // larger than the CPU's caches): the entry a few ranks on is asked for now, so that
                // its bytes are on their way while this one is copied.
                if rank + prefetchDistance < newest.count { prefetch(entries[newest[rank + prefetchDistance]], in: body) }
                return materialize(entries[newest[rank]], in: body)
            }
        } else {
            for n in newest {
                let (key, value) = materialize(entries[n], in: body)
                overlay.entries.set(key, value)
            }
        }
    }

    /// The layer of the trees this builder owns: each tree's entries moved into its map, on
    /// `threads` threads (1 or 2; each map is built from its own entries and the body alone).
    mutating func finish(lastSequence: UInt64, threads: Int) throws -> MemLayer {
        let mine = names.indices.filter { owned[$0] }
        // The largest lists first, each to the thread with fewer entries so far.
        var shares: [[Int]] = [[], []]
        var loads = [0, 0]
        for i in mine.sorted(by: { unsorted[$0].count > unsorted[$1].count }) {
            let thread = threads > 1 && loads[1] < loads[0] ? 1 : 0
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
        var layer = MemLayer()
        for i in mine { layer.trees[strings[i]] = results[i] }
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

/// What `Engine.recoveredLayer` hands to its two workers: the body stays mapped and the spans,
/// shares and closure are read only until both have finished; each writes its own result slot.
private struct ReplayWork: @unchecked Sendable {
    let body: UnsafeRawBufferPointer
    let spans: ArraySlice<LogFormat.Span>
    let openBase: @Sendable () throws -> ReadTransaction
    let logPath: String
    let slotBits: Int
    let shares: RecoveryShares
    let results: UnsafeMutableBufferPointer<Result<MemLayer, any Error>?>
}

/// A slot of `RecoveredLayerBuilder`'s table of recent keys.
private struct Slot {
    var index: Int
    var hash: UInt64
}
