// Writing an export to a file with write(2), created or truncated.

import Glibc

/// A file opened for writing from its start.
final class FileSink {
    let path: String
    private var descriptor: Int32

    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw InterchangeError.io(path: path, reason: systemError(errno)) }
    }

    deinit { if descriptor >= 0 { Glibc.close(descriptor) } }

    /// Writes all of `bytes`.
    func write(_ bytes: [UInt8]) throws {
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return Glibc.write(descriptor, base + written, raw.count - written)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw InterchangeError.io(path: path, reason: systemError(errno))
            }
            written += count
        }
    }

    /// Closes the file, reporting a failure of the last writes.
    func close() throws {
        let result = Glibc.close(descriptor)
        descriptor = -1
        if result != 0 { throw InterchangeError.io(path: path, reason: systemError(errno)) }
    }
}
