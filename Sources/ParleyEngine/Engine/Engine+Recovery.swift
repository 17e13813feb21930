// Recovery: the log's valid records after the trees' sequence become the memtable's active layer.
//
// A version-2 log is kept: its records are replayed into one `MemLayer` (no B+tree write, no sync,
// no log reset), and the next checkpoint moves them into the trees as it does any commit. The layer
// is built from the records' bytes in place: each operation is sliced out of its payload, keys and
// values are copied once into the entries, and each tree's entries are sorted and built into a
// balanced map at once instead of inserted one by one.
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
        var builder = RecoveredLayerBuilder(base: base)
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

/// Collects a log's operations per tree and builds the layer they make.
struct RecoveredLayerBuilder {
    private let base: ReadTransaction
    /// Trees in order of first appearance: raw name, name, overlay so far, and the entries written
    /// since the overlay's map was last brought up to date, in log order.
    private var names: [Bytes] = []
    private var strings: [String] = []
    private var overlays: [TreeOverlay] = []
    private var unsorted: [[(Bytes, MemValue)]] = []
    private var last = -1

    init(base: ReadTransaction) { self.base = base }

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
            unsorted[i].append((Bytes(operation.key), .put(Bytes(operation.value))))
        case .insert:
            unsorted[i].append((Bytes(operation.key), .put(Bytes(operation.value))))
            overlays[i].countDelta += 1
        case .delete:
            unsorted[i].append((Bytes(operation.key), .tombstone))
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

    /// Moves tree `i`'s collected entries into its map: the last write of each key wins.
    private mutating func settle(_ i: Int) {
        guard !unsorted[i].isEmpty else { return }
        let entries = unsorted[i]
        unsorted[i] = []
        // Sorted by key, then by log position, so the last of equal keys is the newest write. Keys
        // are compared by their first 24 bytes as integers, and in full only when those agree.
        var order = entries.indices.map { SortKey(entries[$0].0, position: $0) }
        order.withUnsafeMutableBufferPointer { order in
            order.sort { a, b in
                if a.prefix != b.prefix { return a.prefix < b.prefix }
                let c = compareBytes(entries[a.position].0, entries[b.position].0)
                return c != 0 ? c < 0 : a.position < b.position
            }
        }
        // The newest write of each key: the last of each group of equal keys.
        var newest: [Int] = []
        newest.reserveCapacity(order.count)
        for n in order.indices {
            if n + 1 < order.count, order[n].prefix == order[n + 1].prefix,
               compareBytes(entries[order[n].position].0, entries[order[n + 1].position].0) == 0 { continue }
            newest.append(order[n].position)
        }
        if overlays[i].entries.isEmptyMap {
            overlays[i].entries = PersistentMap(sortedCount: newest.count) { entries[newest[$0]] }
        } else {
            for position in newest { overlays[i].entries.set(entries[position].0, entries[position].1) }
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

/// A key's first 24 bytes as three big-endian integers (zero-padded) and its place in the log:
/// integer comparisons order most keys without reading them again. Keys equal in those bytes
/// (or one a zero-padded prefix of the other) are compared in full.
private struct SortKey {
    var prefix: Prefix
    var position: Int

    struct Prefix: Comparable {
        var a: UInt64, b: UInt64, c: UInt64
        static func < (l: Prefix, r: Prefix) -> Bool { (l.a, l.b, l.c) < (r.a, r.b, r.c) }
    }

    init(_ key: Bytes, position: Int) {
        var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
        key.withUnsafeBytes { bytes in
            withUnsafeMutableBytes(of: &words) { raw in
                raw.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes.prefix(24)))
            }
        }
        prefix = Prefix(a: UInt64(bigEndian: words.0), b: UInt64(bigEndian: words.1), c: UInt64(bigEndian: words.2))
        self.position = position
    }
}
