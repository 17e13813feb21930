// Streaming gzip decompression with zlib's inflate: compressed chunks in, plain chunks out, never
// the whole file in memory. Concatenated gzip members (as `cat a.gz b.gz` makes) are read one
// after another, as gunzip does.

import CZlib

/// Inflates a gzip (or zlib) stream read from another source.
final class GzipInflater: ChunkSource {
    private static let bufferSize = 256 << 10

    private let input: any ChunkSource
    /// zlib keeps a pointer back to its stream, so the stream lives at a fixed address.
    private let stream: UnsafeMutablePointer<z_stream>
    private let inputBuffer: UnsafeMutableBufferPointer<UInt8>
    private let outputBuffer: UnsafeMutableBufferPointer<UInt8>
    /// The compressed chunk being fed, and how much of it went into `inputBuffer`.
    private var chunk: [UInt8] = []
    private var chunkOffset = 0
    private var inputEnded = false
    /// True after the end of a gzip member, until more input starts another.
    private var memberEnded = false

    init(input: any ChunkSource) throws {
        self.input = input
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        inputBuffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: Self.bufferSize)
        outputBuffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: Self.bufferSize)
        // windowBits 15 + 32: the largest window, with the gzip or zlib header detected.
        let status = inflateInit2_(stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            inputBuffer.deallocate()
            outputBuffer.deallocate()
            throw InterchangeError.corruptCompressedInput(reason: "zlib could not start (status \(status))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        inputBuffer.deallocate()
        outputBuffer.deallocate()
    }

    var bytesConsumed: Int { input.bytesConsumed }

    func next() throws -> [UInt8]? {
        while true {
            if stream.pointee.avail_in == 0 {
                guard try refill() else {
                    if memberEnded { return nil }
                    throw InterchangeError.corruptCompressedInput(reason: "the gzip stream ends early (truncated file?)")
                }
            }
            if memberEnded {
                // More bytes after a complete member: another member follows.
                guard inflateReset(stream) == Z_OK else {
                    throw InterchangeError.corruptCompressedInput(reason: "zlib could not restart")
                }
                memberEnded = false
            }
            guard let outputBase = outputBuffer.baseAddress else { return nil }
            stream.pointee.next_out = outputBase
            stream.pointee.avail_out = UInt32(outputBuffer.count)
            let status = inflate(stream, Z_NO_FLUSH)
            let produced = outputBuffer.count - Int(stream.pointee.avail_out)
            switch status {
            case Z_OK, Z_BUF_ERROR:
                break
            case Z_STREAM_END:
                memberEnded = true
            default:
                throw InterchangeError.corruptCompressedInput(reason: zlibMessage(status))
            }
            if produced > 0 { return Array(outputBuffer[0..<produced]) }
            if status == Z_BUF_ERROR && stream.pointee.avail_in > 0 {
                throw InterchangeError.corruptCompressedInput(reason: "inflate made no progress")
            }
        }
    }

    /// Moves the next compressed bytes into zlib's input; false at the end of the input.
    private func refill() throws -> Bool {
        if chunkOffset >= chunk.count {
            guard !inputEnded, let next = try input.next() else {
                inputEnded = true
                return false
            }
            chunk = next
            chunkOffset = 0
        }
        guard let inputBase = inputBuffer.baseAddress else { return false }
        let count = min(inputBuffer.count, chunk.count - chunkOffset)
        _ = UnsafeMutableBufferPointer(start: inputBase, count: count).update(fromContentsOf: chunk[chunkOffset..<(chunkOffset + count)])
        chunkOffset += count
        stream.pointee.next_in = inputBase
        stream.pointee.avail_in = UInt32(count)
        return count > 0
    }

    private func zlibMessage(_ status: Int32) -> String {
        if let message = stream.pointee.msg { return String(cString: message) + " (status \(status))" }
        return "inflate failed (status \(status))"
    }
}
