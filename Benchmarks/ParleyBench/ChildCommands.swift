// Hidden subcommands run in child processes by `open` and `recover`:
//   child-open             opens a database, runs one `recent` and prints the time (and, with
//                          --count, the total number of messages, read after the clock stops)
//   child-recover-writer   appends until the log (ParleyDB) or WAL (SQLite) holds --bytes that
//                          no checkpoint moved, says "ready", and waits to be killed with SIGKILL
// Output is "key value" lines on standard output.

import ArgumentParser
import Glibc
import Parley

enum EngineName: String, ExpressibleByArgument, CaseIterable {
    case parleydb, sqlite
}

struct ChildOpen: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "child-open", shouldDisplay: false)

    @Option var engine: EngineName
    @Option var path: String
    /// A ParleyDB conversation UUID, or a SQLite conversation row id.
    @Option var conversation: String
    @Flag var count = false

    func run() throws {
        switch engine {
        case .parleydb:
            guard let id = ConversationID(conversation) else { throw BenchError("not a conversation id: \(conversation)") }
            let start = monotonicNanos()
            let db = try Database.open(path: path, options: ParleySide.options(syncs: nil))
            let rows = try db.messages(in: id, .newest(WorkloadConstants.recentLimit)).count
            let elapsed = monotonicNanos() - start
            print("elapsed_ns \(elapsed)")
            print("rows \(rows)")
            if count { print("total \(try db.stats().messages)") }
            try db.close()
        case .sqlite:
            guard let id = Int64(conversation) else { throw BenchError("not a conversation row id: \(conversation)") }
            let start = monotonicNanos()
            // What an application does at start: open, set its pragmas, prepare the query it needs.
            let connection = try SQLiteConnection(path: path)
            _ = try connection.scalar("PRAGMA journal_mode=WAL")
            try connection.execute("PRAGMA synchronous=NORMAL")
            _ = try connection.scalar("PRAGMA mmap_size=\(256 << 20)")
            try connection.execute("PRAGMA cache_size=-\(64 << 10)")
            let recent = try connection.prepare(SQLiteSide.recentSQL)
            recent.bind(1, id)
            recent.bind(2, Int64(WorkloadConstants.recentLimit))
            var rows = 0
            while try recent.step() {
                _ = (recent.int64(0), recent.int64(1), recent.text(2), recent.int64(3), recent.text(4), recent.int64(5),
                     recent.text(6), recent.optionalText(7))
                rows += 1
            }
            let elapsed = monotonicNanos() - start
            recent.finalize()
            print("elapsed_ns \(elapsed)")
            print("rows \(rows)")
            if count { print("total \(try connection.scalar("SELECT count(*) FROM messages") ?? "?")") }
            try connection.close()
        }
    }
}

struct ChildRecoverWriter: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "child-recover-writer", shouldDisplay: false)

    @Option var engine: EngineName
    @Option var path: String
    /// Lines "conversation<TAB>sender handle<TAB>sender row id".
    @Option var plan: String
    @Option var bytes: Int64
    /// Not `--seed`: the parent command's options are matched first, and it has one.
    @Option var writerSeed: UInt64
    @Option var startMicros: Int64

    func run() throws {
        let targets = try readPlan()
        var random = SplitMix64(seed: writerSeed, stream: RandomStream.recovery.rawValue)
        let vocabulary = Vocabulary()
        var clock = startMicros
        var appended = 0
        var logBytes: Int64 = 0
        func nextText() -> String { TextSource.builtIn(vocabulary).utterances(random.between(1, 8), &random) }
        switch engine {
        case .parleydb:
            var options = ParleySide.options(syncs: nil)
            // Nothing may reach the data file: no checkpoint by size or by age.
            options.engine.memtableBudget = 1 << 40
            options.engine.checkpointAge = 1e9
            let db = try Database.open(path: path, options: options)
            var ids: [ConversationID] = []
            for target in targets {
                guard let id = ConversationID(target.key) else { throw BenchError("bad conversation id in the plan: \(target.key)") }
                ids.append(id)
            }
            while logBytes < bytes {
                for _ in 0..<200 {
                    let index = random.below(targets.count)
                    clock += 1_000
                    let text = nextText()
                    try db.append(NewMessage(sender: targets[index].handle, text: text, tokens: text.utf8.count / 4,
                                             createdAt: Timestamp(microseconds: clock)), to: ids[index])
                    appended += 1
                }
                logBytes = Int64(try db.stats().logBytes)
            }
            try db.flush()
        case .sqlite:
            var settings = SQLiteSide.Settings()
            settings.autocheckpoint = 0
            let side = try SQLiteSide(path: path, settings: settings)
            var ids: [Int64] = []
            for target in targets {
                guard let id = Int64(target.key) else { throw BenchError("bad conversation id in the plan: \(target.key)") }
                ids.append(id)
            }
            while logBytes < bytes {
                for _ in 0..<100 {
                    let index = random.below(targets.count)
                    clock += 1_000
                    let text = nextText()
                    try side.append(SQLiteAppend(conversation: ids[index], createdAt: clock, sender: targets[index].userID, role: 0,
                                                 tokens: Int64(text.utf8.count / 4), text: text, metadataJSON: nil))
                    appended += 1
                }
                logBytes = Files.apparentSize(path + "-wal")
            }
        }
        print("appended \(appended)")
        print("log_bytes \(logBytes)")
        print("ready")
        fflush(nil)
        // Killed here with SIGKILL: no close, no checkpoint.
        while true { pause() }
    }

    private func readPlan() throws -> [(key: String, handle: String, userID: Int64)] {
        guard let text = Files.readText(plan) else { throw BenchError("cannot read \(plan)") }
        var out: [(String, String, Int64)] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: "\t")
            guard fields.count == 3, let userID = Int64(fields[2]) else { throw BenchError("bad plan line: \(line)") }
            out.append((String(fields[0]), String(fields[1]), userID))
        }
        guard !out.isEmpty else { throw BenchError("empty plan \(plan)") }
        return out
    }
}
