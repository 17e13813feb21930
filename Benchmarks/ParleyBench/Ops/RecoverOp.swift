// recover: a child appends (one message per transaction, durability normal) until its log
// (ParleyDB) or WAL (SQLite, wal_autocheckpoint=0) holds 64 MiB that no checkpoint moved, is
// killed with SIGKILL, and a fresh child times open + one `recent`. The second child also counts
// the messages: every acknowledged append must be there.

import Glibc

extension BenchRun {
    func recover() throws {
        // The 64 busiest conversations, each with a human member to speak.
        let targets = population.busiest.prefix(64).map { Int($0) }
        let start = (generator?.lastAt.max() ?? population.firstMessageMicros) + 1_000_000
        var figures: [(ms: Double, log: Int64, appended: Int)] = []
        for engine in [EngineName.parleydb, .sqlite] {
            let path = engine == .parleydb ? parley.path : sqlitePath
            let planPath = directory + "/recover-plan-\(engine.rawValue).tsv"
            var plan = ""
            for conversation in targets {
                let human = Int(population.conversations[conversation].members[0])
                let key = engine == .parleydb ? parley.ids[conversation].description : String(SQLiteSide.conversationID(conversation))
                plan += "\(key)\t\(population.handle(of: human))\t\(SQLiteSide.userID(human))\n"
            }
            guard Files.writeNew(plan, to: planPath) else { throw BenchError("cannot write \(planPath)") }
            defer { unlink(planPath) }

            let writer = try ChildProcess(program: try ChildProcess.selfExecutable(), arguments: [
                "child-recover-writer", "--engine", engine.rawValue, "--path", path, "--plan", planPath,
                "--bytes", String(WorkloadConstants.recoverLogBytes), "--writer-seed", String(seed), "--start-micros", String(start),
            ])
            var lines: [String] = []
            while let line = try writer.readLine() {
                lines.append(line)
                if line == "ready" { break }
            }
            guard lines.last == "ready" else {
                throw BenchError("the \(engine.rawValue) recovery writer stopped before it was ready (status \(try writer.wait()))")
            }
            writer.kill(SIGKILL)
            let status = try writer.wait()
            guard status == 128 + SIGKILL else { throw BenchError("the recovery writer ended with status \(status), not by SIGKILL") }
            let written = Self.fields(lines)
            let appended = Int(written["appended"] ?? "") ?? -1
            let logBytes = Int64(written["log_bytes"] ?? "") ?? -1

            let probe = engine == .parleydb ? probeConversation.parley : probeConversation.sqlite
            let (ms, fields) = try childOpen(engine, path: path, conversation: probe, count: true)
            let total = Int(fields["total"] ?? "") ?? -1
            if total == expectedMessages + appended {
                report.checks.append("recover (\(engine.rawValue)): all \(Format.grouped(Int64(appended))) messages acknowledged before the kill were there after it")
            } else {
                report.fail("recover (\(engine.rawValue)): expected \(expectedMessages + appended) messages after the kill, found \(total)")
            }
            log("recover \(engine.rawValue): \(Format.fixed(ms, 1)) ms after \(Format.mebibytes(logBytes)) of log")
            figures.append((ms, logBytes, appended))
        }
        report.add(ResultRow(
            operation: "recover", name: "recover (open after kill -9) + recent", unit: "ms", better: .lower,
            parley: figures[0].ms, sqlite: figures[1].ms,
            note: "log left by the killed writer: ParleyDB \(Format.mebibytes(figures[0].log)) (\(Format.grouped(Int64(figures[0].appended))) messages), SQLite WAL \(Format.mebibytes(figures[1].log)) (\(Format.grouped(Int64(figures[1].appended))) messages); page cache warm (just written); one run each"))
    }
}
