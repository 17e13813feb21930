// Small file operations on the work directory, on Glibc directly.

@preconcurrency import Glibc

enum Files {
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func size(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    /// Removes a file; a missing one is fine.
    static func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw failure("remove", path) }
    }

    /// Copies `source` to `destination` byte for byte; when `source` is missing, `destination`
    /// is removed, so the copy mirrors it either way.
    static func copy(_ source: String, to destination: String) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else {
            guard errno == ENOENT else { throw failure("open", source) }
            try remove(destination)
            return
        }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw failure("create", destination) }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(input, $0.baseAddress, $0.count) }
            if count == 0 { return }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("read", source)
            }
            try writeAll(output, buffer[0..<count], destination)
        }
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        let output = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw failure("create", path) }
        defer { close(output) }
        try writeAll(output, bytes[...], path)
    }

    static func read(_ path: String) throws -> [UInt8] {
        let input = open(path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw failure("open", path) }
        defer { close(input) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(input, $0.baseAddress, $0.count) }
            if count == 0 { return out }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("read", path)
            }
            out.append(contentsOf: buffer[0..<count])
        }
    }

    /// Names of the entries of a directory (without "." and "..").
    static func list(_ directory: String) throws -> [String] {
        guard let stream = opendir(directory) else { throw failure("list", directory) }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Creates a directory (and its parents) unless it exists.
    static func makeDirectory(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += String(part) + "/"
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw failure("create the directory", prefix) }
        }
    }

    /// A new directory under $TMPDIR (or /tmp).
    static func makeTemporaryDirectory() throws -> String {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array((base + "/parley-torture-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> UnsafeMutablePointer<CChar>? in
            guard let base = buffer.baseAddress else { return nil }
            return mkdtemp(base)
        }
        guard let made else {
            throw failure("create a directory under", base)
        }
        return String(cString: made)
    }

    /// Removes an empty directory; one that is not empty stays.
    static func removeDirectoryIfEmpty(_ path: String) { rmdir(path) }

    private static func writeAll(_ descriptor: Int32, _ bytes: ArraySlice<UInt8>, _ path: String) throws {
        var rest = bytes
        while !rest.isEmpty {
            let count = rest.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("write", path)
            }
            rest = rest.dropFirst(count)
        }
    }

    private static func failure(_ operation: String, _ path: String) -> TortureError {
        TortureError.system("cannot \(operation) \(path): \(String(cString: strerror(errno)))")
    }
}
