// The writer's report to the parent: one line per event on its standard output, a pipe. A line
// is written with write(2) after the event, so once written it survives the SIGKILL (the pipe
// keeps it); the parent reads them all after the kill.
//
//   open                the writer is about to open (and recover) the database
//   ready K             open; the ledger is at K
//   ack SEQ MODE        transaction SEQ committed and returned, with durability MODE
//   begin WORK / end WORK   checkpoint, compact or flush
//   idle                the transaction budget is spent; waiting for the kill
//   error TEXT          the writer failed and exits with status 3

@preconcurrency import Glibc
import Parley

enum WriterReport {
    /// Writes one line to standard output, unbuffered. A line shorter than PIPE_BUF is written to
    /// a pipe whole, so the parent never sees half of one.
    static func emit(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return  // the parent is gone; SIGPIPE or the kill ends this process
            }
            offset += written
        }
    }
}

/// Where the writer was when the kill arrived, as far as its report tells.
enum KillPhase: String, CaseIterable {
    case startup = "before open"
    case open = "during open/recovery"
    case workload = "during transactions"
    case checkpoint = "during checkpoint"
    case compact = "during compaction"
    case flush = "during flush"
    case idle = "while idle"
}

/// The parent's reading of a writer's report.
struct WriterOutput {
    var ready: UInt64?
    /// Acknowledged transactions in order.
    var acks: [(seq: UInt64, durability: Durability)] = []
    /// Every commit acknowledged before a flush, checkpoint or compaction that completed is
    /// durable whatever its mode: the newest such seq.
    var durableThrough: UInt64?
    var phase = KillPhase.startup
    var errors: [String] = []
    /// Lines that follow no rule of the protocol.
    var malformed: [String] = []
    /// The raw text, kept for a failure report.
    var text = ""

    init(_ bytes: [UInt8]) {
        text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        // Only whole lines count (the last element is what follows the final newline).
        lines.removeLast()
        for line in lines { read(String(line)) }
    }

    private mutating func read(_ line: String) {
        let words = line.split(separator: " ", maxSplits: 2).map(String.init)
        switch (words.first ?? "", words.count) {
        case ("open", 1): phase = .open
        case ("ready", 2):
            guard let k = UInt64(words[1]) else { return malformed.append(line) }
            ready = k
            phase = .workload
        case ("ack", 3):
            guard let seq = UInt64(words[1]), let durability = Durability(rawValue: words[2]) else { return malformed.append(line) }
            acks.append((seq, durability))
        case ("begin", 2):
            guard let work = Maintenance(rawValue: words[1]) else { return malformed.append(line) }
            switch work {
            case .checkpoint: phase = .checkpoint
            case .compact: phase = .compact
            case .flush: phase = .flush
            }
        case ("end", 2):
            guard Maintenance(rawValue: words[1]) != nil else { return malformed.append(line) }
            durableThrough = acks.last?.seq ?? durableThrough
            phase = .workload
        case ("idle", 1): phase = .idle
        case ("error", _): errors.append(String(line.dropFirst(6)))
        default: malformed.append(line)
        }
    }
}
