// JSON and RFC 3339 text for other tools (the `parley` shell): the same parser, writer and time
// reader the importer and exporter use, so every edge of the project reads and writes alike.

import Parley

/// JSON text to and from ``Metadata``.
public enum JSONText {
    /// Parses one JSON value; throws ``InterchangeError/badLine(line:reason:)`` with line 1 when
    /// it is not valid JSON.
    public static func metadata(_ text: String) throws -> Metadata {
        do {
            return try JSONParser.parse(Array(text.utf8)).metadata
        } catch let error as JSONSyntaxError {
            throw InterchangeError.badLine(line: 1, reason: "invalid JSON: \(error)")
        }
    }

    /// Compact JSON for a value, object keys in byte order.
    public static func string(_ value: Metadata) -> String {
        var writer = JSONWriter()
        writer.metadata(value)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// A JSON string literal, quoted and escaped.
    public static func quoted(_ text: String) -> String { JSONWriter.literal(text) }
}

/// RFC 3339 times.
public enum RFC3339Time {
    /// Parses `2024-05-01T12:00:00Z`, with optional fraction and offset; nil when invalid.
    public static func parse(_ text: String) -> Timestamp? { RFC3339.parse(text) }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC (the fraction only when not zero).
    public static func format(_ time: Timestamp) -> String {
        let micros = time.microseconds
        let (daysRaw, remainderRaw) = micros.quotientAndRemainder(dividingBy: 86_400_000_000)
        let days = remainderRaw < 0 ? daysRaw - 1 : daysRaw
        let remainder = remainderRaw < 0 ? remainderRaw + 86_400_000_000 : remainderRaw
        // Civil date from days since the epoch (proleptic Gregorian).
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let seconds = remainder / 1_000_000
        let fraction = remainder % 1_000_000
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        var out = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2))"
        if fraction != 0 { out += "." + pad(fraction, 6) }
        return out + "Z"
    }
}
