// Conversation state with an expiry. An expired value is never returned; the store's checkpoint
// deletes expired values (`sweepExpiredState`), so their space comes back without anyone asking.

extension ChatWriter {
    /// The default time to live of a state value: 24 hours.
    public static let defaultStateTTL: Double = 86_400

    private func validateStateKey(_ key: StateKey) throws {
        switch key {
        case .conversation(let id): try requireConversation(id)
        case .custom(let name):
            let length = name.utf8.count
            guard length > 0, length <= Limits.maximumStateKeyBytes else {
                throw ParleyError.invalidArgument("a state key must be 1 to \(Limits.maximumStateKeyBytes) bytes")
            }
        }
    }

    private func validateTTL(_ ttl: Double) throws {
        guard !(ttl < 0) else { throw ParleyError.negativeTTL(ttl) }
        guard ttl.isFinite else { throw ParleyError.invalidArgument("a TTL must be a finite number of seconds") }
    }

    /// Stores `value` under `key` for `ttl` seconds (24 hours by default), replacing any value.
    public func setState(_ key: StateKey, value: [UInt8], ttl: Double = ChatWriter.defaultStateTTL) throws {
        try validateStateKey(key)
        try validateTTL(ttl)
        guard value.count <= Limits.maximumStateValueBytes else {
            throw ParleyError.invalidArgument("a state value must be at most \(Limits.maximumStateValueBytes) bytes")
        }
        let stateKey = Key.state(key)
        try removeState(stateKey)
        // Absent now, both: removed above if they were there (one expiry entry per value).
        let stored = StateValue(value: value, expiresAt: now.adding(seconds: ttl))
        try insertNew(Tree.state, stateKey, StateCodec.encode(stored))
        try insertNew(Tree.expiry, Key.expiry(stored.expiresAt, stateKey), [])
    }

    /// Slides a live value's expiry to `ttl` seconds from now; false when there is no live value.
    @discardableResult
    public func touchState(_ key: StateKey, ttl: Double = ChatWriter.defaultStateTTL) throws -> Bool {
        try validateTTL(ttl)
        guard var value = try state(key) else { return false }
        let stateKey = Key.state(key)
        try deleteIndexed(Tree.expiry, Key.expiry(value.expiresAt, stateKey))
        value.expiresAt = now.adding(seconds: ttl)
        try put(Tree.state, stateKey, StateCodec.encode(value))
        try insertNew(Tree.expiry, Key.expiry(value.expiresAt, stateKey), [])
        return true
    }

    /// Deletes the value under `key`; true when a live value was there.
    @discardableResult
    public func deleteState(_ key: StateKey) throws -> Bool {
        let live = try state(key) != nil
        try removeState(Key.state(key))
        return live
    }

    /// Removes a state entry and its expiry entry, live or expired. Every value has exactly one
    /// expiry entry, at its own expiry time, so both are known present once the value is read.
    func removeState(_ stateKey: [UInt8]) throws {
        guard let bytes = try storage({ try view.get(Tree.state, stateKey) }) else { return }
        let old = try StateCodec.decode(bytes)
        try deleteIndexed(Tree.expiry, Key.expiry(old.expiresAt, stateKey))
        try deleteIndexed(Tree.state, stateKey)
    }

    /// Deletes every value that has expired; returns how many.
    @discardableResult
    func sweepExpiredState(limit: Int = 100_000) throws -> Int {
        var end: [UInt8] = []
        Key.appendBE(orderedBits(now), to: &end)
        end.append(0xFF)
        let expired = try storage { try view.entries(Tree.expiry, from: [], to: end, limit: limit) }
        for entry in expired {
            guard entry.key.count > 8 else { continue }
            let stateKey = Array(entry.key[8...])
            if let bytes = try storage({ try view.get(Tree.state, stateKey) }),
                let value = try? StateCodec.decode(bytes), value.expiresAt <= now
            {
                try delete(Tree.state, stateKey)
            }
            try delete(Tree.expiry, entry.key)
        }
        return expired.count
    }
}
