// The errors of JSON Lines import and export. Errors of the chat store inside an import become
// bad lines (with the store's description as the reason), except storage failures, which stop
// the import as the `ParleyError.storage` they are.

import Parley

/// An error of ``Importer`` or ``Exporter``.
public enum InterchangeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Line `line` (1-based, counting empty lines) could not be imported; nothing of it was
    /// stored, and everything before it was. `reason` says why, for example `invalid JSON: …`,
    /// `missing participants`, `messages[2].text is not valid UTF-8`, `unknown role "x"`, or the
    /// description of the ``ParleyError`` the store raised.
    case badLine(line: Int, reason: String)
    /// A file could not be opened, read or written.
    case io(path: String, reason: String)
    /// Gzipped input is damaged or cut short; the lines before the damage were imported.
    case corruptCompressedInput(reason: String)

    /// A one-line description for people.
    public var description: String {
        switch self {
        case .badLine(let line, let reason): return "line \(line): \(reason)"
        case .io(let path, let reason): return "\(path): \(reason)"
        case .corruptCompressedInput(let reason): return "corrupt gzip input: \(reason)"
        }
    }
}
