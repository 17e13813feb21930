// Reading a text file line by line, plain or gzipped. The gzip reader of ParleyInterchange is
// internal to that module, so gzipped files are read through a `gzip -dc` child process.

import Glibc

final class LineStream {
    private let file: UnsafeMutablePointer<FILE>
    private let decompressor: ChildProcess?
    private let path: String
    private var buffer: UnsafeMutablePointer<CChar>?
    private var capacity = 0
    private var closed = false
    private(set) var lineNumber = 0

    /// Opens `path`; gzipped when it starts with the bytes 1f 8b.
    init(path: String) throws {
        self.path = path
        guard let probe = fopen(path, "rb") else { throw BenchError("cannot open \(path): \(errnoText(errno))") }
        let first = getc(probe)
        let second = getc(probe)
        if first == 0x1F && second == 0x8B {
            fclose(probe)
            let child = try ChildProcess(program: "gzip", arguments: ["-dc", "--", path])
            guard let stream = fdopen(child.output, "r") else {
                throw BenchError("cannot read the output of gzip for \(path): \(errnoText(errno))")
            }
            child.releaseOutput()
            decompressor = child
            file = stream
        } else {
            rewind(probe)
            decompressor = nil
            file = probe
        }
    }

    /// The next line without its line ending, or nil at the end of the file.
    func next() -> [UInt8]? {
        let length = getline(&buffer, &capacity, file)
        guard length >= 0, let buffer else { return nil }
        lineNumber += 1
        var end = length
        while end > 0, buffer[end - 1] == 10 || buffer[end - 1] == 13 { end -= 1 }
        return buffer.withMemoryRebound(to: UInt8.self, capacity: end) { Array(UnsafeBufferPointer(start: $0, count: end)) }
    }

    /// Closes the file; for a gzipped one, fails when gzip reported an error (a damaged file).
    func close() throws {
        guard !closed else { return }
        closed = true
        let readError = ferror(file) != 0
        // fclose closes the pipe's descriptor; the child object must not close it again.
        fclose(file)
        free(buffer)
        buffer = nil
        if let decompressor {
            let status = try decompressor.wait()
            guard status == 0 else { throw BenchError("gzip -dc \(path) failed (exit status \(status))") }
        }
        if readError { throw BenchError("error reading \(path)") }
    }

    /// A stream abandoned on an error path: the file is closed (the child is reaped by its own
    /// deinit).
    deinit {
        if !closed {
            fclose(file)
            free(buffer)
        }
    }
}
