// Recovery: the log's valid records after the trees' sequence become the memtable's active layer.
//
// A version-2 log is kept: its records are replayed into one `MemLayer` (no B+tree write and no
// log reset; one fdatasync of the log, `WriteAheadLog.syncKeptRecords`), and the next checkpoint
// moves them into the trees as it does any commit. The layer is built from the records' bytes in
// place: each operation is sliced out of its payload and kept as offsets into the log
// (`RecoveredLayerBuilder`), each tree's entries are sorted, and only the newest write of each key
// is copied out, into a balanced map built at once instead of inserted one by one
// (`RecoveredTrees`). Two workers share the records, each collecting about half of the log's
// bytes; the later half's trees are joined to the earlier's (`CollectedTree.joined`), and a tree
// the later half cannot replay alone (a range delete of keys written before it) is replayed again
// over the whole log.
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
    /// Logs with fewer records are replayed by one worker.
    static let parallelReplayMinimum = 64

    /// The layer holding the records `spans` of `body`, over the trees that `openBase` opens a
    /// snapshot of (read only by range deletes, each worker through its own). `spans` are
    /// consecutive, valid and well formed (`LogFormat.scanRun`). With `mapped` (the same body,
    /// mapped), values are left in it (`LoggedValue`) instead of copied. With `workers` 2, two threads
    /// each collect about half of the records' bytes (logs of fewer than `minimumRecords` records
    /// go to one). `slotBits` sizes the table of recent keys per tree (tests make it tiny, so that
    /// keys share slots).
    static func recoveredLayer(
        body: UnsafeRawBufferPointer, spans: ArraySlice<LogFormat.Span>, openBase: @escaping @Sendable () throws -> ReadTransaction,
        logPath: String, valuesIn mapped: RecoveredLog? = nil, slotBits: Int = RecoveredLayerBuilder.defaultSlotBits,
        workers: Int = 2, minimumRecords: Int = parallelReplayMinimum
    ) throws -> MemLayer {
        let lastSequence = spans.last?.sequence ?? 0
        let threads = workers > 1 ? 2 : 1
        let middle = halfway(spans)
        guard workers > 1, spans.count >= max(2, minimumRecords), middle > spans.startIndex, middle < spans.endIndex else {
            var builder = RecoveredLayerBuilder(openBase: openBase, body: body, slotBits: slotBits)
            defer { builder.closeBase() }
            try replay(spans, of: body, into: &builder, logPath: logPath)
            return RecoveredTrees.layer(builder.takeTrees(), body: body, valuesIn: mapped, lastSequence: lastSequence, threads: threads)
        }
        let results = UnsafeMutableBufferPointer<Result<Part, any Error>?>.allocate(capacity: 2)
        results.initialize(repeating: nil)
        defer { results.deinitialize().deallocate() }
        let work = ReplayWork(
            body: body, parts: [spans[..<middle], spans[middle...]], openBase: openBase, logPath: logPath, slotBits: slotBits,
            results: results)
        DispatchQueue.concurrentPerform(iterations: 2) { part in
            // Each worker writes only its own result slot.
            work.results[part] = Result {
                let records = work.parts[part]
                // Every write of the earlier half took at least one byte before the later half's
                // first payload, so positions from that offset on are above all of them.
                let firstPosition = part == 0 ? 0 : records.first?.payload.lowerBound ?? 0
                var builder = RecoveredLayerBuilder(
                    openBase: work.openBase, body: work.body, slotBits: work.slotBits, firstPosition: firstPosition,
                    seesEarlierRecords: part == 0)
                defer { builder.closeBase() }
                try replay(records, of: work.body, into: &builder, logPath: work.logPath)
                return Part(trees: builder.takeTrees(), deferred: builder.deferred)
            }
        }
        // Both slots are set once `concurrentPerform` returns; an empty one would be a bug here.
        guard let earlier = try results[0]?.get(), let later = try results[1]?.get() else {
            throw EngineError.corruptFile(path: logPath, reason: "a recovery worker did not finish")
        }
        var trees = CollectedTree.joined(earlier.trees, later.trees)
        if !later.deferred.isEmpty {
            let deferred = Set(later.deferred)
            var builder = RecoveredLayerBuilder(openBase: openBase, body: body, slotBits: slotBits, owns: { deferred.contains($0) })
            defer { builder.closeBase() }
            try replay(spans, of: body, into: &builder, logPath: logPath)
            trees = CollectedTree.replacing(trees, with: builder.takeTrees())
        }
        return RecoveredTrees.layer(trees, body: body, valuesIn: mapped, lastSequence: lastSequence, threads: threads)
    }

    /// The index of the first span of the later half: the first whose payload starts at or past
    /// half of all the spans' payload bytes (collecting costs about the same per byte).
    static func halfway(_ spans: ArraySlice<LogFormat.Span>) -> Int {
        let total = spans.reduce(0) { $0 + $1.payload.count }
        var sofar = 0
        for index in spans.indices {
            if sofar * 2 >= total { return index }
            sofar += spans[index].payload.count
        }
        return spans.endIndex
    }

    /// What one worker collected: its trees, and those it left to a replay of the whole log.
    private struct Part {
        var trees: [CollectedTree]
        var deferred: [Bytes]
    }

    /// What `recoveredLayer` hands to its two workers: the body stays mapped and the parts and
    /// closure are read only until both have finished; each writes its own result slot.
    private struct ReplayWork: @unchecked Sendable {
        let body: UnsafeRawBufferPointer
        let parts: [ArraySlice<LogFormat.Span>]
        let openBase: @Sendable () throws -> ReadTransaction
        let logPath: String
        let slotBits: Int
        let results: UnsafeMutableBufferPointer<Result<Part, any Error>?>
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
