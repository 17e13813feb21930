// Splitting input into lines at LF, one line in memory at a time. A line over the limit is
// reported as too long and its bytes are dropped as they arrive, so it never fills memory.

/// One line of input.
enum InputLine {
    /// The line's bytes, without the LF (a CR before it is left; JSON reads it as whitespace).
    case line([UInt8])
    /// The line was longer than the limit; its bytes were dropped.
    case tooLong
}

/// Reads lines from a chunk source.
final class LineReader {
    private let source: any ChunkSource
    private let maximumLineBytes: Int
    private var chunk: [UInt8] = []
    private var offset = 0
    private var pending: [UInt8] = []
    private var pendingTooLong = false
    private var ended = false
    /// The 1-based number of the line last returned (0 before the first).
    private(set) var lineNumber = 0

    init(source: any ChunkSource, maximumLineBytes: Int) {
        self.source = source
        self.maximumLineBytes = max(0, maximumLineBytes)
    }

    /// The next line, or nil after the last. A last line without a final LF counts.
    func next() throws -> InputLine? {
        while !ended {
            if offset < chunk.count {
                let rest = chunk[offset...]
                if let newline = rest.firstIndex(of: 0x0A) {
                    let piece = chunk[offset..<newline]
                    offset = newline + 1
                    lineNumber += 1
                    return finish(piece)
                }
                offset = chunk.count
                if pendingTooLong || pending.count + rest.count > maximumLineBytes {
                    drop()
                } else {
                    pending.append(contentsOf: rest)
                }
                continue
            }
            guard let next = try source.next() else {
                ended = true
                guard pendingTooLong || !pending.isEmpty else { return nil }
                lineNumber += 1
                return finish(chunk[chunk.count...])
            }
            chunk = next
            offset = 0
        }
        return nil
    }

    private func finish(_ piece: ArraySlice<UInt8>) -> InputLine {
        if pendingTooLong || pending.count + piece.count > maximumLineBytes {
            drop()
            pendingTooLong = false
            return .tooLong
        }
        if pending.isEmpty { return .line(Array(piece)) }
        pending.append(contentsOf: piece)
        let line = pending
        pending = []
        return .line(line)
    }

    private func drop() {
        pendingTooLong = true
        pending = []
    }
}
