// What the chat store needs from the engine to read: a snapshot and a write transaction both
// provide it, so every query is written once and runs inside either.

protocol KeyValueView: AnyObject {
    func treeExists(_ tree: String) throws -> Bool
    func get(_ tree: String, _ key: Bytes) throws -> Bytes?
    func getMany(_ tree: String, _ keys: [Bytes]) throws -> [Bytes?]
    func cursor(_ tree: String) throws -> MergedCursor
    func count(_ tree: String) throws -> UInt64
}

extension Snapshot: KeyValueView {}
extension Transaction: KeyValueView {}

extension KeyValueView {
    /// Keys and values of `tree` with keys in `[start, end)`, in order, at most `limit`.
    func entries(_ tree: String, from start: [UInt8], to end: [UInt8]?, limit: Int = .max) throws -> [(key: [UInt8], value: [UInt8])] {
        let cursor = try cursor(tree)
        var out: [(key: [UInt8], value: [UInt8])] = []
        var entry = try cursor.seek(atOrAfter: start)
        while let (key, value) = entry, out.count < limit {
            if let end, compareKeys(key, end) >= 0 { break }
            // Keys come in the order they are stored; on a damaged page that is not sorted order,
            // and a key outside the range must not reach code that slices it by the range's shape.
            guard compareKeys(key, start) >= 0 else {
                throw ParleyError.corruptRecord(tree: tree, reason: "keys out of order")
            }
            out.append((key, value))
            entry = try cursor.next()
        }
        return out
    }

    /// Keys and values of `tree` that start with `prefix`, in order.
    func entries(_ tree: String, prefix: [UInt8], limit: Int = .max) throws -> [(key: [UInt8], value: [UInt8])] {
        let found = try entries(tree, from: prefix, to: Key.prefixEnd(prefix), limit: limit)
        // In sorted order every key in the range has the prefix; a damaged page can break that.
        for entry in found where !entry.key.starts(with: prefix) {
            throw ParleyError.corruptRecord(tree: tree, reason: "a key lacks its range's prefix (keys out of order)")
        }
        return found
    }
}

/// Byte order of keys (the engine's order).
@inline(__always)
func compareKeys(_ a: [UInt8], _ b: [UInt8]) -> Int {
    let n = min(a.count, b.count)
    var i = 0
    while i < n {
        if a[i] != b[i] { return a[i] < b[i] ? -1 : 1 }
        i += 1
    }
    return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
}
