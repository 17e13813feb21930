// What the page store's cursors and the engine's merged cursors share, so range work is written once.

/// A cursor that can seek and walk forward in key order.
protocol OrderedCursor {
    func seek(atOrAfter key: Bytes) throws -> (key: Bytes, value: Bytes)?
    func next() throws -> (key: Bytes, value: Bytes)?
}

extension OrderedCursor {
    /// The keys `k` with `start <= k < end`, in order.
    func keys(from start: Bytes, to end: Bytes) throws -> [Bytes] {
        var keys: [Bytes] = []
        var entry = try seek(atOrAfter: start)
        while let (key, _) = entry, compareBytes(key, end) < 0 {
            keys.append(key)
            entry = try next()
        }
        return keys
    }
}

extension TreeCursor: OrderedCursor {}
extension MergedCursor: OrderedCursor {}
