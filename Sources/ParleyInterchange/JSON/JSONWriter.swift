// A small deterministic JSON writer: the caller decides the order of every key, strings are
// escaped the same way every time, numbers are written exactly (integers) or in their shortest
// round-trip form (doubles). Output accumulates in `bytes`; the caller drains it.

import Parley

/// Writes compact JSON (no spaces) into a byte buffer.
///
/// Strings: `"` and `\` are escaped with a backslash; U+0008, U+0009, U+000A, U+000C and U+000D
/// as `\b`, `\t`, `\n`, `\f`, `\r`; every other control character below U+0020 as `\u00XX`
/// (uppercase hexadecimal); everything else, non-ASCII included, is written as its UTF-8.
struct JSONWriter {
    /// The JSON written so far (or since the caller last drained it).
    var bytes: [UInt8] = []
    /// Whether the innermost open object or array needs a comma before its next member.
    private var needsComma: [Bool] = []

    init(reservingCapacity capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    // MARK: - Structure

    mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma.append(false)
    }

    mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma.removeLast()
    }

    mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma.append(false)
    }

    mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma.removeLast()
    }

    /// Writes `"name":`; the member's value follows.
    mutating func key(_ name: String) {
        separate()
        writeString(name)
        bytes.append(UInt8(ascii: ":"))
        // The value that follows belongs to this member: no comma before it.
        if !needsComma.isEmpty { pendingValue = true }
    }

    /// Set between a key and its value, so that the value does not write a comma.
    private var pendingValue = false

    /// Writes a comma when the current container already has a member.
    private mutating func separate() {
        if pendingValue {
            pendingValue = false
            return
        }
        guard let last = needsComma.last else { return }
        if last { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
    }

    // MARK: - Scalars

    mutating func null() {
        separate()
        bytes.append(contentsOf: "null".utf8)
    }

    mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    mutating func string(_ value: String) {
        separate()
        writeString(value)
    }

    /// An integer, exactly.
    mutating func int(_ value: Int64) {
        separate()
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: [UInt8] = []
        repeat {
            digits.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        bytes.append(contentsOf: digits.reversed())
    }

    /// A double in the shortest form that reads back as the same value (Swift's `description`,
    /// e.g. `0.1`, `1.0`, `1e-05`, `1.2345678901234568e+17`; always with a `.` or an exponent, so
    /// it reads back as a double). Infinities and NaN, which JSON cannot hold, are written as `null`.
    mutating func double(_ value: Double) {
        guard value.isFinite else { return null() }
        separate()
        bytes.append(contentsOf: value.description.utf8)
    }

    /// A metadata value; object keys in the byte order of their UTF-8.
    mutating func metadata(_ value: Metadata) {
        switch value {
        case .null: null()
        case .bool(let flag): bool(flag)
        case .int(let number): int(number)
        case .double(let number): double(number)
        case .string(let text): string(text)
        case .array(let items):
            beginArray()
            for item in items { metadata(item) }
            endArray()
        case .object(let fields):
            beginObject()
            let keys = fields.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for name in keys {
                guard let field = fields[name] else { continue }
                key(name)
                metadata(field)
            }
            endObject()
        }
    }

    // MARK: - Escaping

    private mutating func writeString(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x08: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0C: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x00..<0x20: bytes.append(contentsOf: "\\u00\(hex(byte))".utf8)
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// `text` as a JSON string literal (for error messages that quote input).
    static func literal(_ text: String) -> String {
        var writer = JSONWriter()
        writer.string(text)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
