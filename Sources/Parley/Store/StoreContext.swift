// What readers and writers share about the open store: its clock, its file and its tuning.

final class StoreContext: Sendable {
    let path: String
    let clock: @Sendable () -> Timestamp
    let blockTargetBytes: Int
    /// Pending bytes an automatic checkpoint may leave unsealed (`Database.Options`).
    let sealDeferralBytes: Int
    /// Automatic passes in a row each conversation has been left pending.
    let sealDeferrals = SealDeferralCounts()
    let dictionaryMinimumSample: Int
    let engine: Engine
    /// Block dictionaries already read (they never change once written).
    let dictionaries = BlockDictionaryCache()
    /// Blocks already decoded, for readers that come back to them.
    let decodedBlocks: DecodedBlockCache

    init(
        path: String, clock: @escaping @Sendable () -> Timestamp, blockTargetBytes: Int, sealDeferralBytes: Int,
        dictionaryMinimumSample: Int, decodedBlockCacheBytes: Int, engine: Engine
    ) {
        self.decodedBlocks = DecodedBlockCache(capacity: decodedBlockCacheBytes)
        self.path = path
        self.clock = clock
        self.blockTargetBytes = blockTargetBytes
        self.sealDeferralBytes = sealDeferralBytes
        self.dictionaryMinimumSample = dictionaryMinimumSample
        self.engine = engine
    }

    func logBytes() -> UInt64 { engine.logBytes }
}

enum StateCodec {
    static func encode(_ value: StateValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(8 + value.value.count)
        Key.appendBE(orderedBits(value.expiresAt), to: &out)
        out.append(contentsOf: value.value)
        return out
    }

    static func decode(_ bytes: [UInt8]) throws -> StateValue {
        guard bytes.count >= 8 else { throw ParleyError.corruptRecord(tree: Tree.state, reason: "a value is shorter than 8 bytes") }
        return StateValue(value: Array(bytes[8...]), expiresAt: timestamp(fromOrderedBits: Key.readBE(bytes[0..<8])))
    }
}
