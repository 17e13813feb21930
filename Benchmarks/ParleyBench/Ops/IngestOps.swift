// ingest-tx (one message per transaction, durability normal) and ingest-batch (1,000 per
// transaction), one engine after the other so that each engine's peak RSS (`memory`) is its own:
// the peak is reset just before ingest-tx and read just after ingest-batch. Messages are
// generated in chunks outside the clock; only the commits are timed.

import Glibc
import Parley

struct IngestFigures {
    let transactionalRate: Double
    let batchRate: Double
    let peakBytes: Int64?
    let baselineBytes: Int64?
    /// Resident memory at the end of ingest-batch, anonymous and file-backed.
    let endSplit: (anonymous: Int64, file: Int64)?
    /// The checkpoint owed at the end of ingest (ParleyDB's memtable, SQLite's WAL), timed apart.
    let catchUpSeconds: Double
    let produced: Int
    let fingerprint: UInt64
}

extension BenchRun {
    func ingestParley() throws -> IngestFigures {
        let db = try parley.db()
        let generator = MessageGenerator(population: population, text: text, seed: seed)
        logMemory("at ParleyDB's reset")
        let reset = ProcessMemory.resetPeak()
        let baseline = ProcessMemory.residentBytes()
        var watch = Stopwatch()
        var left = scale.transactionalMessages
        while left > 0 {
            let chunk = generator.next(min(WorkloadConstants.batchSize, left)).map { parley.prepare($0, population) }
            for item in chunk {
                watch.start()
                try ParleySide.append(item, to: db)
                watch.stop()
            }
            left -= chunk.count
        }
        let transactional = Double(scale.transactionalMessages) / watch.seconds
        log("ParleyDB ingest-tx: \(Format.fixed(transactional, 0)) messages/s")
        var batchWatch = Stopwatch()
        left = scale.batchedMessages
        while left > 0 {
            let batch = generator.next(min(WorkloadConstants.batchSize, left)).map { parley.prepare($0, population) }
            batchWatch.start()
            try parley.appendBatch(batch)
            batchWatch.stop()
            left -= batch.count
        }
        let peak = reset ? ProcessMemory.peakBytes() : nil
        let split = ProcessMemory.residentSplit()
        let catchUp = monotonicNanos()
        try parley.checkpoint()
        let catchUpSeconds = Double(monotonicNanos() - catchUp) / 1e9
        // Closed while SQLite ingests, so that SQLite's memory window holds none of ParleyDB's.
        try parley.close()
        ProcessMemory.trimHeap()
        self.generator = generator
        expectedMessages = generator.produced
        return IngestFigures(
            transactionalRate: transactional,
            batchRate: scale.batchedMessages > 0 ? Double(scale.batchedMessages) / batchWatch.seconds : 0,
            peakBytes: peak, baselineBytes: baseline, endSplit: split, catchUpSeconds: catchUpSeconds,
            produced: generator.produced, fingerprint: generator.fingerprint)
    }

    func ingestSQLite() throws -> IngestFigures {
        let side = try sqliteSide()
        let generator = MessageGenerator(population: population, text: text, seed: seed)
        logMemory("at SQLite's reset")
        let reset = ProcessMemory.resetPeak()
        let baseline = ProcessMemory.residentBytes()
        var watch = Stopwatch()
        var left = scale.transactionalMessages
        while left > 0 {
            let chunk = generator.next(min(WorkloadConstants.batchSize, left)).map(SQLiteSide.prepare)
            for item in chunk {
                watch.start()
                try side.append(item)
                watch.stop()
            }
            left -= chunk.count
        }
        let transactional = Double(scale.transactionalMessages) / watch.seconds
        log("SQLite ingest-tx: \(Format.fixed(transactional, 0)) messages/s")
        var batchWatch = Stopwatch()
        left = scale.batchedMessages
        while left > 0 {
            let batch = generator.next(min(WorkloadConstants.batchSize, left)).map(SQLiteSide.prepare)
            batchWatch.start()
            try side.appendBatch(batch)
            batchWatch.stop()
            left -= batch.count
        }
        let peak = reset ? ProcessMemory.peakBytes() : nil
        let split = ProcessMemory.residentSplit()
        let catchUp = monotonicNanos()
        try side.checkpointPassive()
        let catchUpSeconds = Double(monotonicNanos() - catchUp) / 1e9
        return IngestFigures(
            transactionalRate: transactional,
            batchRate: scale.batchedMessages > 0 ? Double(scale.batchedMessages) / batchWatch.seconds : 0,
            peakBytes: peak, baselineBytes: baseline, endSplit: split, catchUpSeconds: catchUpSeconds,
            produced: generator.produced, fingerprint: generator.fingerprint)
    }

    /// The rows of ingest-tx, ingest-batch and memory, and the check that both engines were fed
    /// the same stream.
    func reportIngest() {
        guard let p = parleyIngest, let s = sqliteIngest else { return }
        if p.produced == s.produced && p.fingerprint == s.fingerprint {
            report.checks.append("both engines were fed the same \(Format.grouped(Int64(p.produced))) generated messages (fingerprint \(String(p.fingerprint, radix: 16)))")
        } else {
            report.fail("the two generator passes differ: \(p.produced) messages (\(String(p.fingerprint, radix: 16))) vs \(s.produced) (\(String(s.fingerprint, radix: 16)))")
        }
        if isSelected("ingest-tx") {
            report.add(ResultRow(
                operation: "ingest-tx", name: "ingest-tx", unit: "messages/s", better: .higher,
                parley: p.transactionalRate, sqlite: s.transactionalRate,
                note: "\(Format.grouped(Int64(scale.transactionalMessages))) messages, one per transaction, durability normal"))
        }
        if isSelected("ingest-batch") {
            report.add(ResultRow(
                operation: "ingest-batch", name: "ingest-batch", unit: "messages/s", better: .higher,
                parley: p.batchRate, sqlite: s.batchRate,
                note: "\(Format.grouped(Int64(scale.batchedMessages))) messages, 1,000 per transaction; the checkpoint owed at the end, "
                    + "timed apart: ParleyDB \(Format.fixed(p.catchUpSeconds, 2)) s, SQLite \(Format.fixed(s.catchUpSeconds, 2)) s"))
        }
        if isSelected("memory") {
            let budget = parley.memtableBudget
            let target = Int64(budget) + (128 << 20)
            var note = "peak RSS (VmHWM) from the start of ingest-tx to the end of ingest-batch, each engine alone in the process; "
            note += "ParleyDB memtable budget \(Format.mebibytes(Int64(budget))), target ≤ \(Format.mebibytes(target))"
            if let peak = p.peakBytes { note += peak <= target ? " (met)" : " (EXCEEDED)" }
            note += "; RSS at the reset (generator, population, corpus): ParleyDB \(p.baselineBytes.map(Format.mebibytes) ?? "?"), SQLite \(s.baselineBytes.map(Format.mebibytes) ?? "?")"
            func split(_ figures: IngestFigures) -> String {
                guard let split = figures.endSplit else { return "?" }
                return "\(Format.mebibytes(split.anonymous)) anonymous + \(Format.mebibytes(split.file)) file-backed"
            }
            note += "; resident at the end of ingest-batch: ParleyDB \(split(p)), SQLite \(split(s))"
            note += " (file-backed: pages of mapped files, the database's included; SQLite's page cache, up to 64 MiB, is anonymous memory)"
            report.add(ResultRow(
                operation: "memory", name: "memory (peak RSS, ingest)", unit: "MiB", better: .lower,
                parley: p.peakBytes.map { Double($0) / 1_048_576 }, sqlite: s.peakBytes.map { Double($0) / 1_048_576 },
                note: p.peakBytes == nil ? "the kernel refused /proc/self/clear_refs, so no peak could be measured" : note))
        }
    }
}
