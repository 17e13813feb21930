// Recovery: the log's valid records after the trees' sequence become the memtable's active layer.
//
// A version-2 log is kept: its records are replayed into one `MemLayer` (no B+tree write and no
// log reset; one fdatasync of the log, `WriteAheadLog.syncKeptRecords`), and the next checkpoint
// moves them into the trees as it does any commit. The layer is built from the records' bytes in
// place: each operation is sliced out of its payload and kept as offsets into the log, each tree's
// entries are sorted, and only the newest write of each key is copied out, into a balanced map
// built at once instead of inserted one by one.
//
// Invariants:
// - Replay gives the layer the commits would have built: operations apply in log order, the last
//   write of a key wins, a created or dropped tree hides everything below it, and entry counts move
//   by the log's own record of each change (an `insert` adds one, a `delete` removes one, a range
//   delete removes the keys the layers and trees held at that point).
// - The layer's `lastSequence` is the last record's; the trees keep their own (`storage.logSequence`).
// - A version-1 log (unchained, left by an older build) is never kept, since appending after its
//   valid run could join a stale record: its records are written into the trees in one commit, as
//   that build did, and the log is reset.

extension Engine {
    /// The layer holding the records `spans` of `body`, over the trees `base` (read only by range
    /// deletes). `spans` are consecutive, valid and well formed (`LogFormat.scanRun`).
    static func recoveredLayer(
        body: UnsafeRawBufferPointer, spans: ArraySlice<LogFormat.Span>, base: ReadTransaction, logPath: String
    ) throws -> MemLayer {
        var builder = RecoveredLayerBuilder(base: base, body: body)
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
    private var last = -1

    init(base: ReadTransaction, body: UnsafeRawBufferPointer) {
        self.base = base
        self.body = body
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
        last = names.count - 1
        return last
    }

    /// Where `slice` (a part of `body`) starts in `body`.
    private func offset(of slice: UnsafeRawBufferPointer) -> Int {
        guard let start = slice.baseAddress, let origin = body.baseAddress else { return 0 }
        return origin.distance(to: start)
    }

    private mutating func collect(_ i: Int, _ operation: LogOperation.Fields, tombstone: Bool) {
        let key = operation.key
        unsorted[i].append(BodyEntry(
            prefix: BodyEntry.Prefix(key), key: offset(of: key), keyCount: key.count,
            value: tombstone ? -1 : offset(of: operation.value), valueCount: tombstone ? 0 : operation.value.count,
            position: unsorted[i].count))
    }

    mutating func apply(_ operation: LogOperation.Fields) throws {
        let i = index(of: operation.tree)
        switch operation.kind {
        case .createTree:
            unsorted[i].removeAll()
            overlays[i] = TreeOverlay(exists: true, hidesBelow: true)
        case .dropTree:
            unsorted[i].removeAll()
            overlays[i] = TreeOverlay(exists: false, hidesBelow: true)
        case .put:
            collect(i, operation, tombstone: false)
        case .insert:
            collect(i, operation, tombstone: false)
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

    private func key(_ entry: BodyEntry) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: body[entry.key..<(entry.key + entry.keyCount)])
    }

    /// The entry as the memtable holds it: its key and value copied out of the body.
    private func materialize(_ entry: BodyEntry) -> (Bytes, MemValue) {
        let value: MemValue = entry.value < 0
            ? .tombstone : .put(Bytes(UnsafeRawBufferPointer(rebasing: body[entry.value..<(entry.value + entry.valueCount)])))
        return (Bytes(key(entry)), value)
    }

    /// Moves tree `i`'s collected entries into its map: the last write of each key wins.
    private mutating func settle(_ i: Int) {
        guard !unsorted[i].isEmpty else { return }
        var entries = unsorted[i]
        unsorted[i] = []
        // Sorted by key, then by log position, so the last of equal keys is the newest write. Keys
        // are compared by their first 24 bytes as integers, and in full only when those agree.
        let body = self.body
        entries.withUnsafeMutableBufferPointer { entries in
            entries.sort { a, b in
                if a.prefix != b.prefix { return a.prefix < b.prefix }
                let c = compareBytes(
                    UnsafeRawBufferPointer(rebasing: body[a.key..<(a.key + a.keyCount)]),
                    UnsafeRawBufferPointer(rebasing: body[b.key..<(b.key + b.keyCount)]))
                return c != 0 ? c < 0 : a.position < b.position
            }
        }
        // The newest write of each key: the last of each group of equal keys.
        var newest: [Int] = []
        newest.reserveCapacity(entries.count)
        for n in entries.indices {
            if n + 1 < entries.count, entries[n].prefix == entries[n + 1].prefix,
               compareBytes(key(entries[n]), key(entries[n + 1])) == 0 { continue }
            newest.append(n)
        }
        if overlays[i].entries.isEmptyMap {
            overlays[i].entries = PersistentMap(sortedCount: newest.count) { materialize(entries[newest[$0]]) }
        } else {
            for n in newest {
                let (key, value) = materialize(entries[n])
                overlays[i].entries.set(key, value)
            }
        }
    }

    mutating func finish(lastSequence: UInt64) throws -> MemLayer {
        var layer = MemLayer()
        for i in names.indices {
            settle(i)
            layer.trees[strings[i]] = overlays[i]
        }
        layer.lastSequence = lastSequence
        return layer
    }
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

    /// A key's first 24 bytes as three big-endian integers, zero-padded: keys equal in those bytes
    /// (or one a zero-padded prefix of the other) are compared in full.
    struct Prefix: Comparable {
        var a: UInt64, b: UInt64, c: UInt64

        init(_ key: UnsafeRawBufferPointer) {
            var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
            withUnsafeMutableBytes(of: &words) { raw in
                raw.copyMemory(from: UnsafeRawBufferPointer(rebasing: key.prefix(24)))
            }
            a = UInt64(bigEndian: words.0)
            b = UInt64(bigEndian: words.1)
            c = UInt64(bigEndian: words.2)
        }

        static func < (l: Prefix, r: Prefix) -> Bool { (l.a, l.b, l.c) < (r.a, r.b, r.c) }
    }
}
