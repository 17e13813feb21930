// Child processes: `gzip -dc` for gzipped corpora, and this binary re-executed with a hidden
// subcommand for the `open` and `recover` rows (a fresh process, with nothing of the parent's
// caches or state). posix_spawn, with the child's standard output on a pipe.

import Glibc

final class ChildProcess {
    let pid: pid_t
    /// Read end of the child's standard output.
    let output: Int32
    private var reaped = false
    /// False once the output descriptor was closed, or handed to a FILE that closes it.
    private var ownsOutput = true
    private var pending: [UInt8] = []

    /// Starts `program` (searched on PATH when it has no slash) with `arguments` (not including
    /// argv[0]); the child's standard error stays ours, so its messages reach the terminal.
    init(program: String, arguments: [String]) throws {
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw BenchError("pipe: \(errnoText(errno))") }
        // Neither end leaks into other children; dup2 gives the child its own fd 1 without the flag.
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let status = posix_spawnp(&child, program, &actions, nil, argv, environ)
        close(pipeEnds[1])
        guard status == 0 else {
            close(pipeEnds[0])
            throw BenchError("cannot start \(program): \(errnoText(status))")
        }
        pid = child
        output = pipeEnds[0]
    }

    /// This executable, for re-running it as a child.
    static func selfExecutable() throws -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { throw BenchError("cannot find this executable (/proc/self/exe): \(errnoText(errno))") }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The next line of the child's output without its newline; nil at end of output.
    func readLine() throws -> String? {
        while true {
            if let newline = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw BenchError("reading from child \(pid): \(errnoText(errno))")
            }
            if count == 0 {
                guard !pending.isEmpty else { return nil }
                let line = String(decoding: pending, as: UTF8.self)
                pending.removeAll()
                return line
            }
            pending.append(contentsOf: chunk[0..<count])
        }
    }

    /// Every remaining line of output.
    func readAllLines() throws -> [String] {
        var lines: [String] = []
        while let line = try readLine() { lines.append(line) }
        return lines
    }

    func kill(_ signal: Int32) { _ = Glibc.kill(pid, signal) }

    /// Hands the output descriptor to someone who closes it (an `fdopen` stream).
    func releaseOutput() { ownsOutput = false }

    /// Waits for the child; returns its exit status, or 128 + the signal that ended it.
    @discardableResult
    func wait() throws -> Int32 {
        defer {
            if ownsOutput { close(output) }
            ownsOutput = false
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno == EINTR { continue }
            throw BenchError("waitpid \(pid): \(errnoText(errno))")
        }
        reaped = true
        let low = status & 0x7F
        if low == 0 { return (status >> 8) & 0xFF }
        return 128 + low
    }

    deinit {
        if !reaped {
            _ = Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
        if ownsOutput { close(output) }
    }
}
