// recent, range and inbox: a fixed list of queries drawn once (conversations with the workload's
// skew, users uniformly), run on ParleyDB then on SQLite. Each query's latency goes into a
// histogram; the rows returned are summed on both sides and must agree.
//
// Each engine's files are read through once just before its queries: ParleyDB ingests first and
// its files then sit idle through SQLite's whole ingest, and kernels that page out idle file
// pages on their own (DAMON's reclaim on these machines, after about 30 s) would otherwise start
// ParleyDB's queries from a half-empty page cache and SQLite's from a full one. How much of each
// engine's files was resident before and after the read is noted. The cold path is the `open`
// row's.

import Parley

extension BenchRun {
    /// What one engine's run of a query list returned, to compare with the other's.
    struct QueryTotals: Equatable {
        var rows = 0
        var textBytes = 0
    }

    func recent() throws {
        var random = SplitMix64(seed: seed, stream: RandomStream.queries.rawValue)
        let conversations = (0..<scale.queries).map { _ in population.skewedConversation(&random) }
        var parleyTotals = QueryTotals()
        var sqliteTotals = QueryTotals()
        var parleyTimes = LatencyRecorder()
        var cached = CachedAtStart(parley: warmParleyFiles())
        for conversation in conversations {
            let messages = try parleyTimes.measure { try parley.recent(conversation) }
            parleyTotals.add(messages.count, messages.reduce(0) { $0 + $1.text.utf8.count })
        }
        let side = try sqliteSide()
        var sqliteTimes = LatencyRecorder()
        cached.sqlite = warmSQLiteFiles()
        for conversation in conversations {
            let messages = try sqliteTimes.measure { try side.recent(conversation) }
            sqliteTotals.add(messages.count, messages.reduce(0) { $0 + $1.text.utf8.count })
        }
        record("recent", "newest \(WorkloadConstants.recentLimit) messages of a conversation (skewed), every field decoded",
               parleyTimes, sqliteTimes, parleyTotals, sqliteTotals, cached)
    }

    func range() throws {
        guard let generator else { throw BenchError("range needs the conversations' time spans from ingest") }
        var random = SplitMix64(seed: seed, stream: RandomStream.queries.rawValue &+ 100)
        let window = WorkloadConstants.rangeWindowMicros
        let queries: [(conversation: Int, from: Int64)] = (0..<scale.queries).map { _ in
            let conversation = population.skewedConversation(&random)
            let first = generator.firstAt[conversation]
            let last = generator.lastAt[conversation]
            guard first > 0 else { return (conversation, population.conversations[conversation].createdAt) }
            let slack = max(0, last - first - window)
            return (conversation, first + Int64(random.below(Int(slack) + 1)))
        }
        var parleyTotals = QueryTotals()
        var sqliteTotals = QueryTotals()
        var parleyTimes = LatencyRecorder()
        var cached = CachedAtStart(parley: warmParleyFiles())
        for query in queries {
            let messages = try parleyTimes.measure { try parley.range(query.conversation, from: query.from, to: query.from + window) }
            parleyTotals.add(messages.count, messages.reduce(0) { $0 + $1.text.utf8.count })
        }
        let side = try sqliteSide()
        var sqliteTimes = LatencyRecorder()
        cached.sqlite = warmSQLiteFiles()
        for query in queries {
            let messages = try sqliteTimes.measure { try side.range(query.conversation, from: query.from, to: query.from + window) }
            sqliteTotals.add(messages.count, messages.reduce(0) { $0 + $1.text.utf8.count })
        }
        record("range", "messages of a conversation (skewed) in a random one-hour window of its span; "
               + Format.fixed(Double(parleyTotals.rows) / Double(max(1, queries.count)), 0) + " messages per query on average",
               parleyTimes, sqliteTimes, parleyTotals, sqliteTotals, cached)
    }

    func inbox() throws {
        var random = SplitMix64(seed: seed, stream: RandomStream.queries.rawValue &+ 200)
        let users = (0..<scale.queries).map { _ in random.below(population.humans) }
        var parleyTotals = QueryTotals()
        var sqliteTotals = QueryTotals()
        var parleyTimes = LatencyRecorder()
        var cached = CachedAtStart(parley: warmParleyFiles())
        for user in users {
            let handle = population.handle(of: user)
            let entries = try parleyTimes.measure { try parley.inbox(handle) }
            parleyTotals.add(entries.count, entries.reduce(0) { $0 + ($1.lastMessage?.text.utf8.count ?? 0) + $1.unreadCount })
        }
        let side = try sqliteSide()
        var sqliteTimes = LatencyRecorder()
        cached.sqlite = warmSQLiteFiles()
        for user in users {
            let entries = try sqliteTimes.measure { try side.inbox(user) }
            sqliteTotals.add(entries.count, entries.reduce(0) { $0 + ($1.lastText?.utf8.count ?? 0) + Int($1.unread) })
        }
        record("inbox", "a random user's \(WorkloadConstants.inboxLimit) most recently active conversations, last message and unread count",
               parleyTimes, sqliteTimes, parleyTotals, sqliteTotals, cached)
    }

    /// Fractions of an engine's files in the page cache before and after they were read through.
    struct Residency {
        var found: Double?
        var warmed: Double?
    }

    /// Each engine's residency as its operations began.
    struct CachedAtStart {
        var parley: Residency
        var sqlite = Residency()

        var note: String {
            func percent(_ fraction: Double?) -> String { fraction.map { Format.fixed($0 * 100, 0) + "%" } ?? "unknown" }
            func describe(_ residency: Residency) -> String { "\(percent(residency.found)) → \(percent(residency.warmed))" }
            return "files read through before each engine's operations, share in the page cache before → after: ParleyDB "
                + describe(parley) + ", SQLite " + describe(sqlite)
        }
    }

    func warmParleyFiles() -> Residency { Self.warm(Files.files(in: parley.directory)) }
    func warmSQLiteFiles() -> Residency { Self.warm(Files.files(in: directory + "/sqlite")) }

    private static func warm(_ files: [String]) -> Residency {
        let found = PageCache.residentFraction(files)
        PageCache.warm(files)
        return Residency(found: found, warmed: PageCache.residentFraction(files))
    }

    private func record(
        _ operation: String, _ note: String, _ parleyTimes: LatencyRecorder, _ sqliteTimes: LatencyRecorder,
        _ parleyTotals: QueryTotals, _ sqliteTotals: QueryTotals, _ cached: CachedAtStart
    ) {
        log("\(operation): ParleyDB \(Format.fixed(parleyTimes.rate, 0))/s, SQLite \(Format.fixed(sqliteTimes.rate, 0))/s")
        report.add(ResultRow(
            operation: operation, name: operation, unit: "queries/s", better: .higher, parley: parleyTimes.rate,
            sqlite: sqliteTimes.rate, parleyLatency: parleyTimes.latency, sqliteLatency: sqliteTimes.latency,
            note: "\(Format.grouped(Int64(parleyTimes.count))) queries; " + note + "; " + cached.note))
        let summary = "\(operation): \(Format.grouped(Int64(parleyTimes.count))) queries returned the same totals on both engines"
        if parleyTotals == sqliteTotals {
            report.checks.append(summary + " (\(Format.grouped(Int64(parleyTotals.rows))) rows, checksum \(parleyTotals.textBytes))")
        } else {
            report.fail("\(operation): ParleyDB returned \(parleyTotals.rows) rows (checksum \(parleyTotals.textBytes)), SQLite \(sqliteTotals.rows) (checksum \(sqliteTotals.textBytes))")
        }
    }
}

extension BenchRun.QueryTotals {
    mutating func add(_ rows: Int, _ bytes: Int) {
        self.rows += rows
        textBytes &+= bytes
    }
}
