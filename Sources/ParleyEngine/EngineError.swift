// The one error type of the storage engine. Every failure the engine can meet — bad bytes on disk,
// a failed system call, a second opener, a full disk, a latched database — arrives as one of these
// cases, never as a trap.

/// An error raised by the storage engine.
public enum EngineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A page failed validation: bad checksum, wrong number or type, or contents out of bounds.
    case corruptPage(page: UInt64, reason: String)
    /// The file as a whole is not a valid database (bad header, no valid meta page, ...).
    case corruptFile(path: String, reason: String)
    /// A system call failed.
    case io(operation: String, path: String, errno: Int32)
    /// Another open database (in this process or another) holds the file's lock.
    case fileInUse(path: String)
    /// The file system has no space left for a write or growth.
    case diskFull(path: String)
    /// The database refuses writes: a write or sync failed earlier, or it was opened read-only.
    case readOnly(reason: String)
    /// A key is longer than the tree accepts.
    case keyTooLarge(length: Int, maximum: Int)
    /// A value is longer than the engine accepts.
    case valueTooLarge(length: Int, maximum: Int)
    /// No tree has this name.
    case treeNotFound(name: String)
    /// A caller passed an argument the engine cannot use.
    case invalidArgument(String)
    /// The database was closed.
    case closed
    /// The file was written by a newer or unknown format version.
    case unsupportedFormat(path: String, version: UInt32)
    /// The simulated machine lost power (fault-injection tests only).
    case simulatedCrash

    public var description: String {
        switch self {
        case .corruptPage(let page, let reason): return "corrupt page \(page): \(reason)"
        case .corruptFile(let path, let reason): return "\(path): not a valid database: \(reason)"
        case .io(let operation, let path, let code):
            return "\(path): \(operation) failed: \(errnoDescription(code)) (errno \(code))"
        case .fileInUse(let path):
            return "\(path): the database is in use by another connection or process (its lock is held)"
        case .diskFull(let path): return "\(path): disk full"
        case .readOnly(let reason): return "the database is read-only: \(reason)"
        case .keyTooLarge(let length, let maximum): return "key of \(length) bytes exceeds the maximum of \(maximum)"
        case .valueTooLarge(let length, let maximum): return "value of \(length) bytes exceeds the maximum of \(maximum)"
        case .treeNotFound(let name): return "no tree named \"\(name)\""
        case .invalidArgument(let message): return "invalid argument: \(message)"
        case .closed: return "the database is closed"
        case .unsupportedFormat(let path, let version): return "\(path): unsupported format version \(version)"
        case .simulatedCrash: return "simulated power loss"
        }
    }

    /// True for errors that mean the bytes on disk are bad (as opposed to a failed operation).
    public var isCorruption: Bool {
        switch self {
        case .corruptPage, .corruptFile: return true
        default: return false
        }
    }
}

import Glibc

func errnoDescription(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "unknown error" }
    return String(cString: text)
}
