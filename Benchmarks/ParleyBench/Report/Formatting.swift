// Number formatting for the table: thousands separators for large figures, three significant
// digits for small ones, and byte sizes in MiB. Through the C library's printf rather than
// Foundation's String(format:): the bench loads no Foundation, so a child process that opens a
// database loads only what the engine and SQLite need (Benchmarks/README.md, "open").

import Glibc

enum Format {
    /// `value` printed by the C library with `format`, one double conversion (such as "%.2f").
    static func printf(_ format: String, _ value: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let written = withVaList([value]) { arguments in
            buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, format, arguments) }
        }
        guard written >= 0 else { return "?" }
        return String(decoding: buffer.prefix(min(Int(written), buffer.count - 1)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `value` with `digits` digits after the point.
    static func fixed(_ value: Double, _ digits: Int) -> String { printf("%.\(max(0, min(digits, 9)))f", value) }

    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "-" }
        let magnitude = abs(value)
        if magnitude >= 1000 { return grouped(Int64(value.rounded())) }
        if magnitude >= 100 { return fixed(value, 0) }
        if magnitude >= 10 { return fixed(value, 1) }
        if magnitude >= 1 { return fixed(value, 2) }
        if magnitude == 0 { return "0" }
        return printf("%.3g", value)
    }

    static func grouped(_ value: Int64) -> String {
        let digits = String(abs(value))
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return value < 0 ? "-" + out : out
    }

    static func ratio(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "-" }
        return (value >= 100 ? fixed(value, 0) : fixed(value, 2)) + "×"
    }

    static func mebibytes(_ bytes: Int64) -> String { fixed(Double(bytes) / 1_048_576, 1) + " MiB" }

    static func seconds(_ value: Double) -> String { fixed(value, 1) + " s" }

    static func latency(_ value: Latency?) -> String {
        guard let value else { return "" }
        return "\(number(value.p50)) / \(number(value.p99))"
    }
}
