// A thin layer over SQLite's C API: a connection and its prepared statements, with errors that
// carry SQLite's own message. Nothing here adds work per row beyond what the C API needs.

import CSQLite

/// SQLITE_TRANSIENT does not import (it is a cast macro): SQLite copies the bound bytes.
let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

final class SQLiteConnection {
    let handle: OpaquePointer
    let path: String

    /// Opens (creating) `path` in multi-thread mode: each connection is used by one thread at a
    /// time, so SQLite's per-connection mutex would be pure overhead.
    init(path: String, vfs: String? = nil) throws {
        self.path = path
        var connection: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &connection, flags, vfs)
        guard status == SQLITE_OK, let connection else {
            let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
            sqlite3_close(connection)
            throw BenchError("SQLite cannot open \(path): \(message)")
        }
        handle = connection
    }

    var errorMessage: String { String(cString: sqlite3_errmsg(handle)) }

    /// Runs SQL without results (schema, pragmas that return nothing useful).
    func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &message)
        guard status == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? errorMessage
            sqlite3_free(message)
            throw BenchError("SQLite: \(text) (in: \(sql))")
        }
    }

    /// The first column of the first row, as text (for pragmas that answer).
    func scalar(_ sql: String) throws -> String? {
        let statement = try prepare(sql)
        defer { statement.finalize() }
        guard try statement.step() else { return nil }
        return statement.isNull(0) ? nil : statement.text(0)
    }

    func prepare(_ sql: String) throws -> Statement {
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard status == SQLITE_OK, let statement else { throw BenchError("SQLite cannot prepare \(sql): \(errorMessage)") }
        return Statement(handle: statement, connection: self)
    }

    /// Closes; every statement must have been finalized (SQLite refuses otherwise).
    func close() throws {
        let status = sqlite3_close(handle)
        guard status == SQLITE_OK else { throw BenchError("SQLite cannot close \(path): \(errorMessage)") }
    }
}

final class Statement {
    private(set) var handle: OpaquePointer?
    private unowned let connection: SQLiteConnection

    init(handle: OpaquePointer, connection: SQLiteConnection) {
        self.handle = handle
        self.connection = connection
    }

    func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(handle, index, value) }

    func bind(_ index: Int32, _ value: String?) {
        guard let value else {
            sqlite3_bind_null(handle, index)
            return
        }
        sqlite3_bind_text(handle, index, value, Int32(value.utf8.count), sqliteTransient)
    }

    func bind(_ index: Int32, blob: [UInt8]?) {
        guard let blob else {
            sqlite3_bind_null(handle, index)
            return
        }
        _ = blob.withUnsafeBytes { sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), sqliteTransient) }
    }

    /// One step: true with a row to read, false when done. On an error the statement is reset.
    func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let message = connection.errorMessage
            sqlite3_reset(handle)
            throw BenchError("SQLite: \(message) (in: \(sql))")
        }
    }

    /// Steps a statement that returns no rows, then resets it for the next use.
    func run() throws {
        defer { sqlite3_reset(handle) }
        _ = try step()
    }

    func reset() { sqlite3_reset(handle) }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    /// Text of a column, decoded from its UTF-8 bytes (an empty string for NULL).
    func text(_ column: Int32) -> String {
        guard let bytes = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }

    func blob(_ column: Int32) -> [UInt8]? {
        guard let bytes = sqlite3_column_blob(handle, column) else { return isNull(column) ? nil : [] }
        let count = Int(sqlite3_column_bytes(handle, column))
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    var sql: String { handle.flatMap { sqlite3_sql($0) }.map { String(cString: $0) } ?? "?" }

    func finalize() {
        sqlite3_finalize(handle)
        handle = nil
    }

    deinit { sqlite3_finalize(handle) }
}
