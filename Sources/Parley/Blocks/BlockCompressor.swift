// LZ4 HC compression of block bodies, against the store's newest dictionary when there is one.
//
// The dictionary is loaded into an HC state once per compressor (`LZ4_loadDictHC` indexes all of
// its 64 KiB); each block then starts from a copy of that state, which lz4hc.h names as a way to
// reuse a loaded dictionary. The state points into the dictionary's bytes, so the compressor owns
// a copy of them at a fixed address for its whole life. Not thread-safe: one per sealing pass.

import CLZ4

final class BlockCompressor {
    /// LZ4 HC level: blocks are written in the background, read far more often than written.
    /// Against a 64 KiB dictionary level 9 took twice as long as 6 on the benchmark's blocks for
    /// 0.4% less (match chains run through the dictionary too); 3 was 7% larger.
    static let compressionLevel: Int32 = 6

    let dictionary: BlockDictionary?
    private let dictionaryBytes: UnsafeMutableBufferPointer<CChar>
    private let loaded: UnsafeMutablePointer<LZ4_streamHC_t>
    private let working: UnsafeMutablePointer<LZ4_streamHC_t>
    /// LZ4's output, reused across blocks; each body is copied out at its exact length.
    private var scratch: UnsafeMutableBufferPointer<CChar> = .allocate(capacity: 0)

    /// A compressor that uses `dictionary`, or none.
    init(dictionary: BlockDictionary?) {
        self.dictionary = dictionary
        let bytes = dictionary?.bytes ?? []
        dictionaryBytes = .allocate(capacity: max(bytes.count, 1))
        for (index, byte) in bytes.enumerated() { dictionaryBytes[index] = CChar(bitPattern: byte) }
        loaded = .allocate(capacity: 1)
        working = .allocate(capacity: 1)
        LZ4_initStreamHC(loaded, MemoryLayout<LZ4_streamHC_t>.size)
        LZ4_initStreamHC(working, MemoryLayout<LZ4_streamHC_t>.size)
        LZ4_resetStreamHC_fast(loaded, Self.compressionLevel)
        if !bytes.isEmpty {
            // Never more than 64 KiB (`BlockDictionary.maximumBytes`), so the Int32 is exact.
            LZ4_loadDictHC(loaded, dictionaryBytes.baseAddress, Int32(bytes.count))
        }
    }

    deinit {
        scratch.deallocate()
        working.deallocate()
        loaded.deallocate()
        dictionaryBytes.deallocate()
    }

    /// `raw` compressed, with the codec and dictionary to name in the header; the raw bytes
    /// themselves when compression does not shrink them.
    func compress(_ raw: [UInt8]) -> (codec: BlockHeader.Codec, stored: [UInt8], dictionary: BlockHeader.DictionaryReference?) {
        guard raw.count > 0, raw.count < Int(Int32.max) else { return (.raw, Self.exactCopy(raw), nil) }
        let bound = Int(LZ4_compressBound(Int32(raw.count)))
        guard bound > 0 else { return (.raw, Self.exactCopy(raw), nil) }
        if scratch.count < bound {
            scratch.deallocate()
            scratch = .allocate(capacity: bound)
        }
        working.update(from: loaded, count: 1)
        let written = raw.withUnsafeBytes { source in
            LZ4_compress_HC_continue(
                working, source.baseAddress?.assumingMemoryBound(to: CChar.self), scratch.baseAddress,
                Int32(raw.count), Int32(bound))
        }
        guard written > 0, Int(written) < raw.count else { return (.raw, Self.exactCopy(raw), nil) }
        let out = Self.exactCopy(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(scratch)[0..<Int(written)]))
        if let dictionary { return (.lz4Dictionary, out, dictionary.reference) }
        return (.lz4, out, nil)
    }

    /// `bytes` in an array of their own with no spare capacity. A body is kept in the memtable,
    /// the sealing plan and the log buffer, which count (and hold) its capacity, not its length:
    /// a body left in the compressor's bound-sized output held twice its bytes.
    private static func exactCopy(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: bytes.count) { destination, initialized in
            UnsafeMutableRawBufferPointer(destination).copyMemory(from: bytes)
            initialized = bytes.count
        }
    }

    private static func exactCopy(_ bytes: [UInt8]) -> [UInt8] { bytes.withUnsafeBytes { exactCopy($0) } }

    /// Decompresses a body of `rawLength` bytes, against `dictionary` when given; nil when the
    /// bytes are not a valid LZ4 block of exactly that length.
    static func decompress(_ body: [UInt8], rawLength: Int, dictionary: [UInt8]?) -> [UInt8]? {
        guard body.count < Int(Int32.max), rawLength < Int(Int32.max),
            (dictionary?.count ?? 0) <= BlockDictionary.maximumBytes
        else { return nil }
        var produced: Int32 = -1
        // Uninitialized: zeroing the output first was a tenth of a block's decoding. Only the
        // bytes LZ4 reports as written are counted as initialized.
        let out = [UInt8](unsafeUninitializedCapacity: rawLength) { destination, initialized in
            produced = body.withUnsafeBytes { source in
                let source = source.baseAddress?.assumingMemoryBound(to: CChar.self)
                let destination = UnsafeMutableRawPointer(destination.baseAddress)?.assumingMemoryBound(to: CChar.self)
                guard let dictionary else {
                    return LZ4_decompress_safe(source, destination, Int32(body.count), Int32(rawLength))
                }
                return dictionary.withUnsafeBytes { bytes in
                    LZ4_decompress_safe_usingDict(
                        source, destination, Int32(body.count), Int32(rawLength),
                        bytes.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(dictionary.count))
                }
            }
            initialized = produced > 0 ? min(Int(produced), rawLength) : 0
        }
        guard produced == Int32(rawLength) else { return nil }
        return out
    }
}
