// Input in chunks: from memory or a file, with a chunk pushed back after peeking at the first
// bytes (to recognise gzip). Sources are used by one import at a time, on one thread.

/// A source of input bytes, read in chunks.
protocol ChunkSource: AnyObject {
    /// The next non-empty chunk, or nil at the end of the input.
    func next() throws -> [UInt8]?
    /// Bytes taken from the underlying input so far (compressed bytes for gzip).
    var bytesConsumed: Int { get }
}

/// Input already in memory, handed out in slices.
final class MemoryChunkSource: ChunkSource {
    private let bytes: [UInt8]
    private let chunkSize: Int
    private var offset = 0

    init(_ bytes: [UInt8], chunkSize: Int = 256 << 10) {
        self.bytes = bytes
        self.chunkSize = max(1, chunkSize)
    }

    var bytesConsumed: Int { offset }

    func next() throws -> [UInt8]? {
        guard offset < bytes.count else { return nil }
        let end = offset + min(chunkSize, bytes.count - offset)
        defer { offset = end }
        return Array(bytes[offset..<end])
    }
}

/// A source whose first chunk was already read (to look at its first bytes) and is handed out again.
final class PushbackChunkSource: ChunkSource {
    private var first: [UInt8]?
    private let rest: any ChunkSource

    init(first: [UInt8], rest: any ChunkSource) {
        self.first = first.isEmpty ? nil : first
        self.rest = rest
    }

    var bytesConsumed: Int { rest.bytesConsumed }

    func next() throws -> [UInt8]? {
        if let chunk = first {
            first = nil
            return chunk
        }
        return try rest.next()
    }
}

/// The input as plain bytes: gzip (first bytes 1f 8b) is inflated as it is read, anything else
/// passes through.
func decompressingIfNeeded(_ source: any ChunkSource) throws -> any ChunkSource {
    var first: [UInt8] = []
    // Gather at least two bytes (or everything, when the input is shorter) to see the magic.
    while first.count < 2, let chunk = try source.next() { first += chunk }
    let input = PushbackChunkSource(first: first, rest: source)
    if first.count >= 2, first[0] == 0x1F, first[1] == 0x8B { return try GzipInflater(input: input) }
    return input
}
