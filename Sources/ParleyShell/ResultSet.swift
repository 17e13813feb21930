// What a command returns: named columns and rows of typed values, which the output modes render.

import Parley

/// One value in a result.
public enum ShellValue: Equatable, Sendable {
    case null
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case string(String)
    /// A time: integer microseconds in JSON modes, RFC 3339 (UTC) elsewhere.
    case time(Timestamp)
    /// A JSON value (metadata, attachments): nested JSON in JSON modes, JSON text elsewhere.
    case json(Metadata)
}

/// Rows of values under named columns. A command with nothing to show returns `.empty`; one that
/// reports a fact returns a single row.
public struct ResultSet: Equatable, Sendable {
    public var columns: [String]
    public var rows: [[ShellValue]]

    public init(columns: [String], rows: [[ShellValue]]) {
        self.columns = columns
        self.rows = rows
    }

    public static let empty = ResultSet(columns: [], rows: [])

    /// A one-row result.
    public static func record(_ fields: KeyValuePairs<String, ShellValue>) -> ResultSet {
        ResultSet(columns: fields.map(\.key), rows: [fields.map(\.value)])
    }

    /// A one-line message (`ok`, counts): one column named `result`.
    public static func message(_ text: String) -> ResultSet {
        ResultSet(columns: ["result"], rows: [[.string(text)]])
    }
}
