// ingest-durable: 20,000 messages one per transaction with durability full from one thread, then
// 20,000 more over 4 threads. ParleyDB: `write(durability: .full)` on the one shared Database
// (its commits share fsyncs). SQLite: synchronous=FULL; from 4 threads each thread has its own
// connection, waiting for the write lock with busy_timeout. Commits per fsync: ParleyDB's syncs
// are counted through its FileSystem seam, SQLite's through a counting VFS.
//
// fsync rates on a shared machine drift by several times within a minute, so each part runs in
// 4 rounds of 5,000 commits, the engines alternating, with a short probe of the disk's own
// fdatasync rate after each round: both engines and the disk see the same weather.

import Parley

extension BenchRun {
    private struct DurableTotals {
        var seconds = 0.0
        var syncs: UInt64 = 0
    }

    func durable() throws {
        guard let generator else { throw BenchError("ingest-durable needs the message stream of ingest") }
        let db = try parley.db()
        let count = WorkloadConstants.durableMessages
        let threads = WorkloadConstants.durableThreads
        let rounds = 4
        let perRound = count / rounds
        let counter = SQLiteSyncCounter.shared
        // SQLite's busy handler sleeps and retries rather than queueing, so on a disk down to a few
        // hundred fdatasyncs a second one waiter can lose the lock for over 10 s; a commit that
        // gave up would fail the run's checks for a reason of the harness, not of either engine.
        let settings = SQLiteSide.Settings(synchronous: "FULL", busyTimeoutMillis: 120_000, vfs: try counter.vfsName())
        var probes: [Double] = []

        // One thread.
        let single = generator.next(perRound * rounds)
        let parleySingle = single.map { parley.prepare($0, population) }
        let sqliteSingle = single.map(SQLiteSide.prepare)
        var parleyOne = DurableTotals()
        var sqliteOne = DurableTotals()
        let connection = try SQLiteSide(path: sqlitePath, settings: settings)
        for round in 0..<rounds {
            let slice = (round * perRound)..<((round + 1) * perRound)
            var syncs = parley.syncs.count
            var start = monotonicNanos()
            for item in parleySingle[slice] { try ParleySide.append(item, to: db, durability: .full) }
            parleyOne.seconds += Double(monotonicNanos() - start) / 1e9
            parleyOne.syncs += parley.syncs.count - syncs
            syncs = counter.count
            start = monotonicNanos()
            for item in sqliteSingle[slice] { try connection.append(item) }
            sqliteOne.seconds += Double(monotonicNanos() - start) / 1e9
            sqliteOne.syncs += counter.count - syncs
            probes.append(try MachineLimits.syncRate(directory: directory, .append, seconds: 0.25))
        }
        try connection.close()
        log("ingest-durable, 1 thread: ParleyDB \(Format.fixed(Double(perRound * rounds) / parleyOne.seconds, 0)), "
            + "SQLite \(Format.fixed(Double(perRound * rounds) / sqliteOne.seconds, 0)) commits/s")

        // Four threads: in each round, message i goes to thread i % 4, each thread in time order.
        let multi = generator.next(perRound * rounds)
        let parleyParts: [[[ParleyAppend]]] = (0..<rounds).map { round in
            (0..<threads).map { thread in
                stride(from: round * perRound + thread, to: (round + 1) * perRound, by: threads).map { parley.prepare(multi[$0], population) }
            }
        }
        let sqliteParts: [[[SQLiteAppend]]] = (0..<rounds).map { round in
            (0..<threads).map { thread in
                stride(from: round * perRound + thread, to: (round + 1) * perRound, by: threads).map { SQLiteSide.prepare(multi[$0]) }
            }
        }
        var parleyFour = DurableTotals()
        var sqliteFour = DurableTotals()
        let connections = try (0..<threads).map { _ in try SQLiteSide(path: sqlitePath, settings: settings) }
        for round in 0..<rounds {
            var syncs = parley.syncs.count
            parleyFour.seconds += try runOnThreads(threads) { thread in
                for item in parleyParts[round][thread] { try ParleySide.append(item, to: db, durability: .full) }
            }
            parleyFour.syncs += parley.syncs.count - syncs
            syncs = counter.count
            sqliteFour.seconds += try runOnThreads(threads) { thread in
                for item in sqliteParts[round][thread] { try connections[thread].append(item) }
            }
            sqliteFour.syncs += counter.count - syncs
            probes.append(try MachineLimits.syncRate(directory: directory, .append, seconds: 0.25))
        }
        for connection in connections { try connection.close() }
        let total = perRound * rounds
        log("ingest-durable, \(threads) threads: ParleyDB \(Format.fixed(Double(total) / parleyFour.seconds, 0)), "
            + "SQLite \(Format.fixed(Double(total) / sqliteFour.seconds, 0)) commits/s")
        expectedMessages = generator.produced

        let disk = "the disk during this op: \(Format.number(median(probes))) fdatasync/s after a 4 KiB append (median of \(probes.count) probes between rounds, \(Format.number(probes.min() ?? 0)) to \(Format.number(probes.max() ?? 0)))"
        func note(_ parley: DurableTotals, _ sqlite: DurableTotals) -> String {
            "\(Format.grouped(Int64(total))) commits in \(rounds) rounds, engines alternating; fsyncs issued: ParleyDB \(parley.syncs), SQLite \(sqlite.syncs); " + disk
        }
        report.add(ResultRow(
            operation: "ingest-durable", name: "ingest-durable, 1 thread", unit: "commits/s", better: .higher,
            parley: Double(total) / parleyOne.seconds, sqlite: Double(total) / sqliteOne.seconds, note: note(parleyOne, sqliteOne)))
        report.add(ResultRow(
            operation: "ingest-durable", name: "  commits per fsync, 1 thread", unit: "commits", better: .higher,
            parley: perSync(total, parleyOne.syncs), sqlite: perSync(total, sqliteOne.syncs)))
        report.add(ResultRow(
            operation: "ingest-durable", name: "ingest-durable, \(threads) threads", unit: "commits/s", better: .higher,
            parley: Double(total) / parleyFour.seconds, sqlite: Double(total) / sqliteFour.seconds,
            note: note(parleyFour, sqliteFour) + "; SQLite: one connection per thread, BEGIN IMMEDIATE, busy_timeout"))
        report.add(ResultRow(
            operation: "ingest-durable", name: "  commits per fsync, \(threads) threads", unit: "commits", better: .higher,
            parley: perSync(total, parleyFour.syncs), sqlite: perSync(total, sqliteFour.syncs)))
    }

    private func perSync(_ commits: Int, _ syncs: UInt64) -> Double? {
        syncs == 0 ? nil : Double(commits) / Double(syncs)
    }
}
