// open: the finished database opened in a fresh child process, which then runs one `recent`
// (the busiest conversation); warm (files in the page cache) and cold (evicted first). The
// median of 5 runs each, the engines alternating run by run.

extension BenchRun {
    func openCold() throws {
        let probe = probeConversation
        let engines: [(EngineName, String, String, String)] = [
            (.parleydb, parley.path, probe.parley, parley.directory),
            (.sqlite, sqlitePath, probe.sqlite, directory + "/sqlite"),
        ]
        var warm: [[Double]] = [[], []]
        var cold: [[Double]] = [[], []]
        var method = PageCache.Method.fadvise
        var residentAfter: [Double] = []
        var rows: [Set<String>] = [[], []]
        for _ in 0..<WorkloadConstants.openRuns {
            for (index, engine) in engines.enumerated() {
                let run = try childOpen(engine.0, path: engine.1, conversation: engine.2)
                warm[index].append(run.ms)
                rows[index].insert(run.fields["rows"] ?? "?")
            }
        }
        if rows[0] == rows[1] && rows[0].count == 1 {
            report.checks.append("open: every child read the same \(rows[0].first ?? "?") newest messages on both engines")
        } else {
            report.fail("open: the children read different numbers of messages: ParleyDB \(rows[0].sorted()), SQLite \(rows[1].sorted())")
        }
        for _ in 0..<WorkloadConstants.openRuns {
            for (index, engine) in engines.enumerated() {
                let files = Files.files(in: engine.3)
                method = PageCache.evict(files)
                if let fraction = PageCache.residentFraction(files) { residentAfter.append(fraction) }
                cold[index].append(try childOpen(engine.0, path: engine.1, conversation: engine.2).ms)
            }
        }
        let worst = residentAfter.max().map { Format.fixed($0 * 100, 1) + "%" } ?? "unknown"
        func spread(_ runs: [[Double]]) -> String {
            "runs ParleyDB \(Format.number(runs[0].min() ?? .nan))–\(Format.number(runs[0].max() ?? .nan)) ms, SQLite \(Format.number(runs[1].min() ?? .nan))–\(Format.number(runs[1].max() ?? .nan)) ms"
        }
        report.add(ResultRow(
            operation: "open", name: "open warm + recent", unit: "ms", better: .lower,
            parley: median(warm[0]), sqlite: median(warm[1]),
            note: "fresh child process; open, then the newest 50 messages of the busiest conversation; median of \(WorkloadConstants.openRuns) (\(spread(warm))); process start not included"))
        report.add(ResultRow(
            operation: "open", name: "open cold + recent", unit: "ms", better: .lower,
            parley: median(cold[0]), sqlite: median(cold[1]),
            note: "as warm, after evicting the database's files with \(method.rawValue); at most \(worst) of their pages were still cached; \(spread(cold))"))
    }
}
