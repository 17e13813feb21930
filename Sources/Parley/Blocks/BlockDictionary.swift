// Shared compression dictionaries for message blocks, stored once in `chat.dictionaries`.
//
// Most blocks are small (a conversation's few messages), and LZ4 finds little to repeat inside one
// of them; the words and word pairs of a store's messages repeat across blocks instead. A block
// compressed against a dictionary of them (`BlockDictionaryBuilder`) is about a third smaller.
//
// Record, under the id (u32 big-endian, from 1, growing):
//   version u8 (1) · raw message bytes of the store when it was made (varint)
//   dictionary length varint (1 … 64 KiB) · the bytes · CRC-32C of the bytes (u32 LE)
//
// Invariants: a dictionary is never rewritten or deleted (ids only grow), and a block names both
// its dictionary's id and checksum, so it decodes only against the bytes it was compressed with.

import ParleyEngine

/// A dictionary as stored: its bytes and when it was made.
struct BlockDictionary: Equatable {
    static let version: UInt8 = 1
    /// LZ4 looks back at most 64 KiB, so a longer dictionary would never be used.
    static let maximumBytes = 64 << 10

    var id: UInt32
    var bytes: [UInt8]
    /// The store's raw message bytes when it was made (`Counters.rawBytes`), for the rebuild rule.
    var madeAtBytes: Int64
    /// CRC-32C of `bytes`, the value blocks name.
    let checksum: UInt32

    init(id: UInt32, bytes: [UInt8], madeAtBytes: Int64) {
        precondition(!bytes.isEmpty && bytes.count <= Self.maximumBytes, "a dictionary holds 1 byte to 64 KiB")
        self.id = id
        self.bytes = bytes
        self.madeAtBytes = madeAtBytes
        checksum = CRC32C.checksum(bytes)
    }

    var reference: BlockHeader.DictionaryReference { .init(id: id, checksum: checksum) }

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: bytes.count + 16)
        writer.byte(Self.version)
        writer.varint(UInt64(clamping: madeAtBytes))
        writer.bytesWithLength(bytes)
        writer.littleEndian32(checksum)
        return writer.bytes
    }

    /// Decodes and verifies a `chat.dictionaries` record; throws `DecodeFailure`.
    init(decoding value: [UInt8], id: UInt32) throws {
        var reader = ByteReader(value)
        guard try reader.byte() == Self.version else { throw DecodeFailure("dictionary \(id): unknown version") }
        let made = try reader.varint()
        guard made <= UInt64(maximumStoredCount) else { throw DecodeFailure("dictionary \(id): size out of range") }
        let length = try reader.count(limit: Self.maximumBytes)
        guard length > 0 else { throw DecodeFailure("dictionary \(id) is empty") }
        let bytes = Array(try reader.raw(length))
        let stored = try reader.littleEndian32()
        guard reader.isAtEnd else { throw DecodeFailure("dictionary \(id): trailing bytes") }
        self.init(id: id, bytes: bytes, madeAtBytes: Int64(made))
        guard checksum == stored else { throw DecodeFailure("dictionary \(id): checksum mismatch") }
    }
}

/// Where a block decoder finds the dictionary a block names.
protocol BlockDictionaryLookup {
    /// The dictionary stored under the reference's id, or nil when there is none. It may not match
    /// the reference's checksum (the decoder checks); a damaged record throws `DecodeFailure`.
    func dictionary(for reference: BlockHeader.DictionaryReference) throws -> BlockDictionary?
}

/// No dictionaries at all: blocks that name one do not decode.
struct NoBlockDictionaries: BlockDictionaryLookup {
    func dictionary(for reference: BlockHeader.DictionaryReference) throws -> BlockDictionary? { nil }
}

/// Dictionaries already read, shared by every reader and writer of one open store. An entry is
/// served only to a block naming the same id and checksum, so a stale one (from a transaction
/// that aborted and whose id was taken again) is read again, never used.
final class BlockDictionaryCache: Sendable {
    /// A damaged file may name many ids: the cache is emptied rather than grown past this.
    static let capacity = 32
    /// A short list, scanned (a store has a few dictionaries): a hashed one would make every
    /// process's first read build its table type at run time, searching every loaded image for
    /// the key's `Hashable` conformance.
    private let entries = Locked<[BlockDictionary]>([])

    init() {}

    func cached(_ reference: BlockHeader.DictionaryReference) -> BlockDictionary? {
        entries.withLock { entries in
            entries.first { $0.id == reference.id && $0.checksum == reference.checksum }
        }
    }

    func remember(_ dictionary: BlockDictionary) {
        entries.withLock { entries in
            entries.removeAll { $0.id == dictionary.id }
            if entries.count >= Self.capacity { entries.removeAll() }
            entries.append(dictionary)
        }
    }
}

/// The store's dictionaries as one view (a snapshot or a write transaction) sees them.
struct StoreBlockDictionaries: BlockDictionaryLookup {
    let view: any KeyValueView
    let cache: BlockDictionaryCache

    func dictionary(for reference: BlockHeader.DictionaryReference) throws -> BlockDictionary? {
        if let cached = cache.cached(reference) { return cached }
        guard let value = try storage({ try view.get(Tree.dictionaries, Key.dictionary(reference.id)) }) else { return nil }
        let loaded = try BlockDictionary(decoding: value, id: reference.id)
        if loaded.checksum == reference.checksum { cache.remember(loaded) }
        return loaded
    }

    /// The newest dictionary's id, and the dictionary unless its record is damaged; nil when
    /// there is none. New blocks use it; a damaged one is replaced, not used.
    func newest() throws -> (id: UInt32, dictionary: BlockDictionary?)? {
        let cursor = try storage { try view.cursor(Tree.dictionaries) }
        guard let (key, value) = try storage({ try cursor.last() }) else { return nil }
        guard let id = Key.dictionaryID(key) else {
            throw ParleyError.corruptRecord(tree: Tree.dictionaries, reason: "a key is not 4 bytes")
        }
        return (id, try? BlockDictionary(decoding: value, id: id))
    }
}

extension ChatReader {
    /// The store's block dictionaries as this reader sees them.
    var dictionaries: StoreBlockDictionaries { StoreBlockDictionaries(view: view, cache: store.dictionaries) }
}
