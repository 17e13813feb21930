// Starting the writer with posix_spawn, reading its report pipe while it runs (a full pipe would
// stall it), killing it with SIGKILL at the planned moment, and reaping it.

@preconcurrency import Glibc

/// How a writer ended.
enum Termination: Equatable, CustomStringConvertible {
    /// By the parent's SIGKILL: the only expected ending.
    case killed
    case exited(Int32)
    case signaled(Int32)

    var description: String {
        switch self {
        case .killed: return "killed"
        case .exited(let status): return "exited with status \(status)"
        case .signaled(let signal): return "died of signal \(signal) (\(String(cString: strsignal(signal))))"
        }
    }
}

/// When the parent sends SIGKILL.
struct KillSchedule {
    /// Microseconds after the start, or after `afterFirstLine` arrives.
    var delay: Int
    /// When set, the delay counts from the moment the writer's first line is this one (so a
    /// short delay lands inside what follows it); the plain delay, from the start, is kept as a
    /// bound should it never come.
    var afterFirstLine: String?
}

struct ChildResult {
    var output: [UInt8]
    var termination: Termination
}

enum ChildProcess {
    /// The writer is this program: `/proc/self/exe`, resolved in the new process, is the parent's
    /// own image, even when the file it came from has been rebuilt since the run started.
    static let ownExecutable = "/proc/self/exe"

    /// Runs `executable` with `arguments`, its standard output a pipe to us and its standard error
    /// the file at `errorPath`, and kills it as `schedule` says (unless it ended before).
    static func run(executable: String, arguments: [String], errorPath: String, schedule: KillSchedule) throws -> ChildResult {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw TortureError.system("pipe: \(String(cString: strerror(errno)))") }
        let (readEnd, writeEnd) = (ends[0], ends[1])
        defer { close(readEnd) }
        // Neither end leaks into the writer except as its standard output (dup2 clears the flag).
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        let errorFile = open(errorPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard errorFile >= 0 else {
            close(writeEnd)
            throw TortureError.system("cannot open \(errorPath): \(String(cString: strerror(errno)))")
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, STDOUT_FILENO)
        posix_spawn_file_actions_adddup2(&actions, errorFile, STDERR_FILENO)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let envp: [UnsafeMutablePointer<CChar>?] = environment().map { strdup($0) } + [nil]
        defer { for pointer in envp { free(pointer) } }

        let started = monotonicMicroseconds()
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        close(writeEnd)
        close(errorFile)
        guard spawned == 0 else { throw TortureError.system("cannot start \(executable): \(String(cString: strerror(spawned)))") }

        var output: [UInt8] = []
        var ended = false
        var deadline = started + Int64(schedule.delay) + (schedule.afterFirstLine == nil ? 0 : 2_000_000)
        var trigger = schedule.afterFirstLine.map { Array(($0 + "\n").utf8) }
        while !ended {
            if let line = trigger, output.count >= line.count {
                if output.starts(with: line) { deadline = monotonicMicroseconds() + Int64(schedule.delay) }
                trigger = nil
            }
            let remaining = deadline - monotonicMicroseconds()
            if remaining <= 0 { break }
            if remaining < 1_000 {
                usleep(UInt32(remaining))
                break
            }
            var descriptor = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(remaining / 1_000))
            if ready > 0 { ended = !readAvailable(readEnd, into: &output) }
        }
        var killedByUs = false
        if !ended {
            kill(pid, SIGKILL)
            killedByUs = true
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw TortureError.system("waitpid: \(String(cString: strerror(errno)))") }
        }
        // The writer is gone; what it wrote stays in the pipe until read.
        while readAvailable(readEnd, into: &output) {}
        return ChildResult(output: output, termination: decode(status, killedByUs: killedByUs))
    }

    /// Our environment for the writer, without the Swift backtracer: a crashing writer must die
    /// at once, not stay alive printing a backtrace until the SIGKILL hides its crash.
    private static func environment() -> [String] {
        var variables: [String] = []
        var cursor: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
        while let entry = cursor, let pointer = entry.pointee {
            let variable = String(cString: pointer)
            if !variable.hasPrefix("SWIFT_BACKTRACE=") { variables.append(variable) }
            cursor = entry + 1
        }
        return variables + ["SWIFT_BACKTRACE=enable=no"]
    }

    /// Reads what the pipe holds; false at end of file.
    private static func readAvailable(_ descriptor: Int32, into output: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                output.append(contentsOf: chunk[0..<count])
                return true
            }
            if count < 0, errno == EINTR { continue }
            return false
        }
    }

    /// The wait status, decoded as the W* macros (which Swift does not import) do.
    private static func decode(_ status: Int32, killedByUs: Bool) -> Termination {
        let signal = status & 0x7F
        if signal == 0 { return .exited((status >> 8) & 0xFF) }
        if signal == SIGKILL && killedByUs { return .killed }
        return .signaled(signal)
    }
}

func monotonicMicroseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000
}
