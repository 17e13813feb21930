// size: bytes on disk after ingest and a checkpoint, with both databases closed (ParleyDB:
// checkpoint + close, which removes its log; SQLite: wal_checkpoint(TRUNCATE) + close): the sum
// of the apparent sizes of every file in each database's directory, the main file alone, and
// bytes per stored message. Before closing, each engine's own integrity walk runs (a check) and
// its page accounting is noted, so a size difference can be traced to data or to free space.

extension BenchRun {
    func size() throws {
        try parley.checkpoint()
        let db = try parley.db()
        let stats = try db.stats()
        let integrity = try db.checkStorage()
        let logWhileOpen = Files.apparentSize(parley.path + "-wal")
        try parley.close()
        if integrity.isSound {
            report.checks.append("ParleyDB integrity walk: sound (\(integrity.pageCount) pages)")
        } else {
            report.fail("ParleyDB integrity walk: " + integrity.problems.prefix(5).joined(separator: "; "))
        }

        let side = try sqliteSide()
        try side.checkpointTruncate()
        let pageSize = Int64(try side.connection.scalar("PRAGMA page_size") ?? "") ?? 0
        let pageCount = Int64(try side.connection.scalar("PRAGMA page_count") ?? "") ?? 0
        let freePages = Int64(try side.connection.scalar("PRAGMA freelist_count") ?? "") ?? 0
        let sqliteIntegrity = try side.connection.scalar("PRAGMA integrity_check") ?? "no answer"
        try side.close()
        sqlite = nil
        if sqliteIntegrity == "ok" {
            report.checks.append("SQLite integrity_check: ok (\(pageCount) pages)")
        } else {
            report.fail("SQLite integrity_check: \(sqliteIntegrity)")
        }

        let parleyTotal = Files.totalApparentSize(of: parley.directory)
        let sqliteTotal = Files.totalApparentSize(of: directory + "/sqlite")
        let parleyData = Files.apparentSize(parley.path)
        let sqliteData = Files.apparentSize(sqlitePath)
        guard isSelected("size") else { return }
        let files = { (directory: String) in Files.files(in: directory).map { $0.split(separator: "/").last.map(String.init) ?? $0 }.joined(separator: ", ") }
        var note = "closed after a checkpoint; ParleyDB files: \(files(parley.directory)); SQLite files: \(files(directory + "/sqlite")); "
        note += "while open after its checkpoint ParleyDB's log file adds \(Format.mebibytes(logWhileOpen)) (preallocated). "
        note += "ParleyDB before its close: \(integrity.pageCount) pages, \(integrity.freePages) free (when a tenth or more is free, the close moves pages in use from the end of the file into free ones and cuts it); messages \(Format.mebibytes(Int64(stats.rawMessageBytes))) encoded, "
        note += "\(Format.mebibytes(Int64(stats.storedMessageBytes))) stored (LZ4 \(Format.fixed(stats.compressionRatio, 2))×). "
        note += "SQLite: \(pageCount) pages of \(pageSize) bytes, \(freePages) free"
        report.add(ResultRow(
            operation: "size", name: "size on disk (all files)", unit: "MiB", better: .lower,
            parley: Double(parleyTotal) / 1_048_576, sqlite: Double(sqliteTotal) / 1_048_576, note: note))
        report.add(ResultRow(
            operation: "size", name: "size, main data file", unit: "MiB", better: .lower,
            parley: Double(parleyData) / 1_048_576, sqlite: Double(sqliteData) / 1_048_576))
        report.add(ResultRow(
            operation: "size", name: "bytes per message (all files)", unit: "bytes", better: .lower,
            parley: Double(parleyTotal) / Double(max(1, expectedMessages)), sqlite: Double(sqliteTotal) / Double(max(1, expectedMessages))))
    }
}
