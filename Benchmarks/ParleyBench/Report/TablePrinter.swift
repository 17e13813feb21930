// The terminal table: one row per figure, both engines side by side with their ratio, then the
// machine's limits, the notes and the checks.

enum TablePrinter {
    static func render(_ report: Report, info: RunInfo) -> String {
        var out = "parley-bench \(info.scale.rawValue) scale, seed \(info.seed), \(info.configuration) build; "
        out += "ParleyDB \(info.parleyVersion), SQLite \(info.sqliteVersion)\n"
        out += "corpus: \(info.corpus)\n"
        out += "machine: \(info.machine.cpu), \(info.machine.cores) cores, \(Format.mebibytes(info.machine.memoryBytes)) RAM, \(info.machine.kernel)\n\n"

        let header = ["operation", "unit", "better", "ParleyDB", "SQLite", "ratio P/S", "ParleyDB p50/p99 µs", "SQLite p50/p99 µs"]
        var lines: [[String]] = [header]
        for row in report.rows {
            lines.append([
                row.note == nil ? row.name : row.name + " *",
                row.unit,
                row.better.rawValue,
                row.parley.map(Format.number) ?? "n/a",
                row.sqlite.map(Format.number) ?? "n/a",
                Format.ratio(row.ratio),
                Format.latency(row.parleyLatency),
                Format.latency(row.sqliteLatency),
            ])
        }
        out += table(lines, rightAligned: [3, 4, 5, 6, 7])

        let noted = report.rows.filter { $0.note != nil }
        if !noted.isEmpty {
            out += "\n"
            for row in noted { out += "* \(row.name): \(row.note ?? "")\n" }
        }
        if !report.limits.isEmpty {
            out += "\nmachine limits (same run, same file system)\n"
            out += table(report.limits.map { [$0.name, Format.number($0.value), $0.unit] }, rightAligned: [1])
        }
        if !report.notes.isEmpty {
            out += "\nnotes\n"
            for note in report.notes { out += "- \(note)\n" }
        }
        out += "\nchecks\n"
        for check in report.checks { out += "- \(check)\n" }
        if report.failures.isEmpty {
            out += "all checks passed\n"
        } else {
            out += "\(report.failures.count) FAILURE(S):\n"
            for failure in report.failures { out += "  FAILED: \(failure)\n" }
        }
        return out
    }

    /// Columns padded to their widest cell; the first line is a header when there are several.
    static func table(_ lines: [[String]], rightAligned: Set<Int>) -> String {
        guard let columns = lines.map(\.count).max() else { return "" }
        var widths = [Int](repeating: 0, count: columns)
        for line in lines {
            for (index, cell) in line.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        var out = ""
        for line in lines {
            var cells: [String] = []
            for (index, cell) in line.enumerated() {
                let padding = String(repeating: " ", count: widths[index] - cell.count)
                cells.append(rightAligned.contains(index) ? padding + cell : cell + padding)
            }
            var text = cells.joined(separator: "  ")
            while text.last == " " { text.removeLast() }
            out += text + "\n"
        }
        return out
    }
}
