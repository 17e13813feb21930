// Rendering results in the output modes. The JSON modes are the stable interface for scripts:
// every column is a field, times are integer microseconds since the epoch, metadata and
// attachments are nested JSON, absent values are null. Table, CSV and line modes are for people
// (times in RFC 3339, UTC).

import Parley
import ParleyInterchange

/// How results are printed.
public enum OutputMode: String, CaseIterable, Sendable {
    /// Aligned columns with a header; long text is cut to fit the terminal's width.
    case table
    /// One JSON array of objects per command.
    case json
    /// One JSON object per row, one per line.
    case jsonl
    /// RFC 4180 CSV with a header row.
    case csv
    /// `column = value` per line, a blank line between rows.
    case line
}

enum OutputFormatter {
    static func render(_ result: ResultSet, mode: OutputMode, width: Int?) -> String {
        guard !result.columns.isEmpty else { return "" }
        switch mode {
        case .table: return table(result, width: width)
        case .json:
            return "[" + result.rows.map { jsonObject(result.columns, $0) }.joined(separator: ",") + "]\n"
        case .jsonl:
            return result.rows.map { jsonObject(result.columns, $0) + "\n" }.joined()
        case .csv:
            var out = result.columns.map(csvField).joined(separator: ",") + "\r\n"
            for row in result.rows { out += row.map { csvField(text($0)) }.joined(separator: ",") + "\r\n" }
            return out
        case .line:
            let nameWidth = result.columns.map(\.count).max() ?? 0
            return result.rows.map { row in
                zip(result.columns, row).map { name, value in
                    String(repeating: " ", count: nameWidth - name.count) + name + " = " + text(value) + "\n"
                }.joined()
            }.joined(separator: "\n")
        }
    }

    /// A value as people read it.
    static func text(_ value: ShellValue) -> String {
        switch value {
        case .null: return ""
        case .int(let number): return String(number)
        case .double(let number): return String(number)
        case .bool(let flag): return flag ? "true" : "false"
        case .string(let string): return string
        case .time(let time): return RFC3339Time.format(time)
        case .json(let value): return JSONText.string(value)
        }
    }

    static func json(_ value: ShellValue) -> String {
        switch value {
        case .null: return "null"
        case .int(let number): return String(number)
        case .double(let number): return number.isFinite ? String(number) : "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .string(let string): return JSONText.quoted(string)
        case .time(let time): return String(time.microseconds)
        case .json(let value): return JSONText.string(value)
        }
    }

    static func jsonObject(_ columns: [String], _ row: [ShellValue]) -> String {
        "{" + zip(columns, row).map { JSONText.quoted($0) + ":" + json($1) }.joined(separator: ",") + "}"
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingAll("\"", with: "\"\"") + "\""
    }

    /// Columns padded to their widest cell; when the table is wider than `width`, the widest
    /// columns are cut (with `…`, headers too, down to 4 characters) until it fits. Newlines in
    /// cells show as `⏎`.
    static func table(_ result: ResultSet, width: Int?) -> String {
        var header = result.columns
        var cells = result.rows.map { $0.map { text($0).replacingAll("\n", with: "⏎").replacingAll("\t", with: " ") } }
        var widths = header.map(\.count)
        for row in cells { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        if let width {
            let separators = 2 * max(0, widths.count - 1)
            while widths.reduce(0, +) + separators > width, let widest = widths.indices.max(by: { widths[$0] < widths[$1] }),
                widths[widest] > 4
            {
                widths[widest] -= 1
            }
            func cut(_ cell: String, _ limit: Int) -> String {
                cell.count > limit ? String(cell.prefix(max(0, limit - 1))) + "…" : cell
            }
            header = header.enumerated().map { cut($1, widths[$0]) }
            cells = cells.map { row in row.enumerated().map { $0 < widths.count ? cut($1, widths[$0]) : $1 } }
        }
        func line(_ row: [String]) -> String {
            var parts: [String] = []
            for (i, cell) in row.enumerated() where i < widths.count {
                parts.append(i == row.count - 1 ? cell : cell + String(repeating: " ", count: max(0, widths[i] - cell.count)))
            }
            return parts.joined(separator: "  ") + "\n"
        }
        var out = line(header)
        out += line(widths.map { String(repeating: "-", count: $0) })
        for row in cells { out += line(row) }
        return out
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        out.reserveCapacity(utf8.count)
        for character in self {
            if character == target { out += replacement } else { out.append(character) }
        }
        return out
    }
}
