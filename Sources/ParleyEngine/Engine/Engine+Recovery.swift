// Recovery: the log's valid records after the trees' sequence become the memtable's active layer.
//
// A version-2 log is kept: its records are replayed into one `MemLayer` (no B+tree write and no
// log reset; one fdatasync of the log, `WriteAheadLog.syncKeptRecords`), and the next checkpoint
// moves them into the trees as it does any commit. The layer is built from the records' bytes in
// place: each operation is sliced out of its payload and kept as offsets into the log
// (`RecoveredLayerBuilder`), each tree's entries are sorted, and only the newest write of each key
// is copied out, into a balanced map built at once instead of inserted one by one
// (`RecoveredTrees`). After one serial walk of the records' frames, two workers share the
// records, each checking (CRC, chain and form) and collecting about half of the log's bytes; the
// later half's trees are joined to the earlier's (`CollectedTree.join`), and a tree the later
// half cannot replay alone (a range delete of keys written before it) is replayed again over the
// whole log.
// - A record that fails its check ends the run: the records before it are replayed again,
//   checked already, since the failed one may have left some of its operations in a builder.
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

    /// The layer holding the records `spans` of `body`, which are valid (checked already).
    static func recoveredLayer(
        body: UnsafeRawBufferPointer, spans: ArraySlice<LogFormat.Span>, openBase: @escaping @Sendable () throws -> ReadTransaction,
        logPath: String, valuesIn mapped: RecoveredLog? = nil, slotBits: Int = RecoveredLayerBuilder.defaultSlotBits,
        tallyWindow: Int = RecoveredLayerBuilder.defaultTallyWindow, workers: Int = 2, minimumRecords: Int = parallelReplayMinimum
    ) throws -> MemLayer {
        try recoveredLayer(
            body: body, spans: spans, checking: nil, openBase: openBase, logPath: logPath, valuesIn: mapped, slotBits: slotBits,
            tallyWindow: tallyWindow, workers: workers, minimumRecords: minimumRecords
        ).layer
    }

    /// The layer holding the longest valid run of the records `spans` of `body`, and how many
    /// records that run holds, over the trees that `openBase` opens a snapshot of (read only by
    /// range deletes, each worker through its own). `spans` are frames (`LogFormat.scanFrames`):
    /// with `checking`, each record's CRC and form are checked as it is replayed, and the run ends
    /// before the first that fails; without, they are known valid. With `mapped` (the same body,
    /// mapped), values are left in it (`LoggedValue`) instead of copied. With `workers` 2, two
    /// threads each check and collect about half of the records' bytes (logs of fewer than
    /// `minimumRecords` records go to one). `slotBits` sizes the table of recent keys per tree and
    /// `tallyWindow` how soon an unhelpful one goes (tests make both tiny, so that keys share slots
    /// and tables go early).
    static func recoveredLayer(
        body: UnsafeRawBufferPointer, spans: ArraySlice<LogFormat.Span>, checking: RecordsToCheck?,
        openBase: @escaping @Sendable () throws -> ReadTransaction, logPath: String, valuesIn mapped: RecoveredLog? = nil,
        slotBits: Int = RecoveredLayerBuilder.defaultSlotBits, tallyWindow: Int = RecoveredLayerBuilder.defaultTallyWindow,
        workers: Int = 2, minimumRecords: Int = parallelReplayMinimum
    ) throws -> (layer: MemLayer, valid: Int) {
        // Replays the valid prefix again, checked now: a record that failed left its operations
        // before the failure in the builders (a rare path: a torn or damaged log).
        func validPrefix(_ valid: Int) throws -> (layer: MemLayer, valid: Int) {
            let layer = try recoveredLayer(
                body: body, spans: spans.prefix(valid), checking: nil, openBase: openBase, logPath: logPath, valuesIn: mapped,
                slotBits: slotBits, tallyWindow: tallyWindow, workers: workers, minimumRecords: minimumRecords
            ).layer
            return (layer, valid)
        }
        let lastSequence = spans.last?.sequence ?? 0
        let threads = workers > 1 ? 2 : 1
        let middle = halfway(spans)
        guard workers > 1, spans.count >= max(2, minimumRecords), middle > spans.startIndex, middle < spans.endIndex else {
            var builder = RecoveredLayerBuilder(openBase: openBase, body: body, slotBits: slotBits, tallyWindow: tallyWindow)
            defer { builder.closeBase() }
            let valid = try replay(spans, of: body, into: &builder, checking: checking, logPath: logPath)
            guard valid == spans.count else { return try validPrefix(valid) }
            return (RecoveredTrees.layer(builder.takeTrees(), body: body, valuesIn: mapped, lastSequence: lastSequence, threads: threads), valid)
        }
        let results = UnsafeMutableBufferPointer<Result<Part, any Error>?>.allocate(capacity: 2)
        results.initialize(repeating: nil)
        defer { results.deinitialize().deallocate() }
        // The later half's first record is chained to the stored CRC of the record before it; if
        // that one is not valid, the earlier half's check says so and the later half is not used.
        let checks = [checking, checking.map { RecordsToCheck(check: $0.check, previous: spans[middle - 1].checksum) }]
        let work = ReplayWork(
            body: body, parts: [spans[..<middle], spans[middle...]], checks: checks, openBase: openBase, logPath: logPath,
            slotBits: slotBits, tallyWindow: tallyWindow, results: results)
        DispatchQueue.concurrentPerform(iterations: 2) { part in
            // Each worker writes only its own result slot.
            work.results[part] = Result {
                let records = work.parts[part]
                // Every write of the earlier half took at least one byte before the later half's
                // first payload, so positions from that offset on are above all of them.
                let firstPosition = part == 0 ? 0 : records.first?.payload.lowerBound ?? 0
                var builder = RecoveredLayerBuilder(
                    openBase: work.openBase, body: work.body, slotBits: work.slotBits, firstPosition: firstPosition,
                    seesEarlierRecords: part == 0, tallyWindow: work.tallyWindow)
                defer { builder.closeBase() }
                let valid = try replay(records, of: work.body, into: &builder, checking: work.checks[part], logPath: work.logPath)
                return Part(trees: builder.takeTrees(), deferred: builder.deferred, valid: valid)
            }
        }
        // Both slots are set once `concurrentPerform` returns; an empty one would be a bug here.
        guard let first = results[0], let second = results[1] else {
            throw EngineError.corruptFile(path: logPath, reason: "a recovery worker did not finish")
        }
        // Taken out of the slots, so that the earlier half's lists are held once and grow in place.
        results[0] = nil
        results[1] = nil
        var earlier = try (consume first).get()
        let earlierCount = middle - spans.startIndex
        // A run that ends in the earlier half owes nothing to the later one, not even its errors.
        guard earlier.valid == earlierCount else { return try validPrefix(earlier.valid) }
        let later = try (consume second).get()
        guard later.valid == spans.endIndex - middle else { return try validPrefix(earlierCount + later.valid) }
        var trees = earlier.trees
        earlier.trees = []
        CollectedTree.join(later.trees, into: &trees)
        if !later.deferred.isEmpty {
            let deferred = Set(later.deferred)
            var builder = RecoveredLayerBuilder(
                openBase: openBase, body: body, slotBits: slotBits, tallyWindow: tallyWindow, owns: { deferred.contains($0) })
            defer { builder.closeBase() }
            _ = try replay(spans, of: body, into: &builder, checking: nil, logPath: logPath)
            CollectedTree.replace(&trees, with: builder.takeTrees())
        }
        return (RecoveredTrees.layer(trees, body: body, valuesIn: mapped, lastSequence: lastSequence, threads: threads), spans.count)
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

    /// What one worker collected: its trees, those it left to a replay of the whole log, and how
    /// many of its records were valid from the first (all, unless a check failed).
    private struct Part {
        var trees: [CollectedTree]
        var deferred: [Bytes]
        var valid: Int
    }

    /// What recovery checks its records with, and the stored CRC the first is chained to.
    struct RecordsToCheck {
        var check: LogFormat.RecordCheck
        var previous: UInt32
    }

    /// What `recoveredLayer` hands to its two workers: the body stays mapped and the parts and
    /// closure are read only until both have finished; each writes its own result slot.
    private struct ReplayWork: @unchecked Sendable {
        let body: UnsafeRawBufferPointer
        let parts: [ArraySlice<LogFormat.Span>]
        let checks: [RecordsToCheck?]
        let openBase: @Sendable () throws -> ReadTransaction
        let logPath: String
        let slotBits: Int
        let tallyWindow: Int
        let results: UnsafeMutableBufferPointer<Result<Part, any Error>?>
    }

    /// Applies every operation of `spans` to `builder`, in log order, and returns how many records
    /// were applied. With `checking`, each record's CRC is checked before it is applied and its form
    /// while it is, and the replay stops at the first that fails (its operations before the failure
    /// were applied); without, a record that does not decode is an error.
    private static func replay(
        _ spans: ArraySlice<LogFormat.Span>, of body: UnsafeRawBufferPointer, into builder: inout RecoveredLayerBuilder,
        checking: RecordsToCheck?, logPath: String
    ) throws -> Int {
        var chain = checking?.previous ?? 0
        var applied = 0
        for span in spans {
            if let checking, !checking.check.checksumMatches(span, of: body, previous: chain) { return applied }
            let payload = UnsafeRawBufferPointer(rebasing: body[span.payload])
            let wellFormed = try LogOperation.forEach(payload) { try builder.apply($0) } && !builder.sawInvalidName
            guard wellFormed else {
                if checking != nil { return applied }
                throw EngineError.corruptFile(path: logPath, reason: "record \(span.sequence) changed while it was replayed")
            }
            chain = span.checksum
            applied += 1
        }
        return applied
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
