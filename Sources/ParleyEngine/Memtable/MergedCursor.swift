// A cursor over a stack of sorted sources — memtable layers newest first, then a B+tree — that
// shows each key once, with the newest source's version, and hides tombstones.
//
// Each source moves in one direction after a seek; when the merged cursor turns around, every
// source is sought again from the current key, so a source never has to walk backwards over a
// stack built for walking forwards.

/// A merged, ordered walk over a tree as a transaction sees it.
public final class MergedCursor {
    private var maps: [MapIterator]
    private let overlays: [PersistentMap]
    private let base: TreeCursor?
    private var baseEntry: (key: Bytes, value: Bytes)?
    private var forward = true
    private var currentEntry: (key: Bytes, value: Bytes)?

    init(overlays: [PersistentMap], base: TreeCursor?) {
        self.overlays = overlays
        self.maps = overlays.map { MapIterator($0) }
        self.base = base
    }

    /// The entry under the cursor.
    public var current: (key: Bytes, value: Bytes)? { currentEntry }

    @discardableResult
    public func first() throws -> (key: Bytes, value: Bytes)? { try seekForward(nil) }

    @discardableResult
    public func last() throws -> (key: Bytes, value: Bytes)? { try seekBackward(nil) }

    /// Moves to the first entry at or after `key`.
    @discardableResult
    public func seek(atOrAfter key: Bytes) throws -> (key: Bytes, value: Bytes)? { try seekForward(key) }

    /// Moves to the last entry at or before `key`.
    @discardableResult
    public func seek(atOrBefore key: Bytes) throws -> (key: Bytes, value: Bytes)? { try seekBackward(key) }

    @discardableResult
    public func next() throws -> (key: Bytes, value: Bytes)? {
        guard let at = currentEntry?.key else { return nil }
        if !forward {
            // Turn around: every source from just after the current key.
            guard try seekForward(at) != nil else { return nil }
        }
        try advance(past: at)
        return try settle()
    }

    @discardableResult
    public func previous() throws -> (key: Bytes, value: Bytes)? {
        guard let at = currentEntry?.key else { return nil }
        if forward {
            guard try seekBackward(at) != nil else { return nil }
        }
        try advance(past: at)
        return try settle()
    }

    private func seekForward(_ key: Bytes?) throws -> (key: Bytes, value: Bytes)? {
        forward = true
        for i in maps.indices { maps[i].seek(atOrAfter: key) }
        if let base { baseEntry = try key.map { try base.seek(atOrAfter: $0) } ?? base.first() }
        return try settle()
    }

    private func seekBackward(_ key: Bytes?) throws -> (key: Bytes, value: Bytes)? {
        forward = false
        for i in maps.indices { maps[i].seek(atOrBefore: key) }
        if let base { baseEntry = try key.map { try base.seek(atOrBefore: $0) } ?? base.last() }
        return try settle()
    }

    /// Moves every source that stands on `key` one step on.
    private func advance(past key: Bytes) throws {
        for i in maps.indices {
            if let current = maps[i].current, current.0 == key {
                if forward { maps[i].next() } else { maps[i].previous() }
            }
        }
        if let base, let entry = baseEntry, entry.key == key {
            baseEntry = forward ? try base.next() : try base.previous()
        }
    }

    /// Finds the nearest key among the sources; if its newest version is a tombstone, steps past it.
    private func settle() throws -> (key: Bytes, value: Bytes)? {
        while true {
            var best: Bytes?
            var winner: MemValue?
            // Newest source first, so on equal keys the newest wins.
            for iterator in maps {
                guard let (key, value) = iterator.current else { continue }
                if let b = best {
                    let c = compareBytes(key, b)
                    if forward ? c < 0 : c > 0 { best = key; winner = value }
                } else {
                    best = key
                    winner = value
                }
            }
            if let entry = baseEntry {
                if let b = best {
                    let c = compareBytes(entry.key, b)
                    if forward ? c < 0 : c > 0 { best = entry.key; winner = .put(entry.value) }
                } else {
                    best = entry.key
                    winner = .put(entry.value)
                }
            }
            guard let key = best, let value = winner else {
                currentEntry = nil
                return nil
            }
            if let bytes = value.bytes {
                currentEntry = (key, bytes)
                return currentEntry
            }
            try advance(past: key)
        }
    }
}
