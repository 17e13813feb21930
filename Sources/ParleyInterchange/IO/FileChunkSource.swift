// Reading a file in large chunks with read(2); the size is known for regular files.

import Glibc

/// A file read from its start to its end, in chunks.
final class FileChunkSource: ChunkSource {
    let path: String
    /// The file's size when it is a regular file.
    let size: Int?
    private let descriptor: Int32
    private let chunkSize: Int
    private(set) var bytesConsumed = 0

    init(path: String, chunkSize: Int = 256 << 10) throws {
        self.path = path
        self.chunkSize = max(1, chunkSize)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw InterchangeError.io(path: path, reason: systemError(errno)) }
        self.descriptor = descriptor
        var info = stat()
        if fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG {
            size = Int(info.st_size)
        } else {
            size = nil
        }
    }

    deinit { close(descriptor) }

    func next() throws -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        var filled = 0
        while filled < chunkSize {
            let count = buffer.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return read(descriptor, base + filled, chunkSize - filled)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw InterchangeError.io(path: path, reason: systemError(errno))
            }
            if count == 0 { break }
            filled += count
        }
        bytesConsumed += filled
        guard filled > 0 else { return nil }
        if filled < chunkSize { buffer.removeSubrange(filled...) }
        return buffer
    }
}

/// The C library's message for an errno value.
func systemError(_ code: Int32) -> String { String(cString: strerror(code)) }
