// An entry of a tree as recovery collects it from the log: offsets into the log body (no copy),
// with the first 24 bytes of its key as integers, so that most keys are ordered without being read.

/// An entry written to a tree, as offsets into the log body (no copy), with the first 24 bytes of
/// its key as integers and its place in the log: integer comparisons order most keys without
/// reading them.
struct BodyEntry {
    var prefix: Prefix
    var key: Int
    var keyCount: Int
    /// -1 for a tombstone.
    var value: Int
    var valueCount: Int
    var position: Int
    /// Whether the first write of the key collected (in this run: since the tree's last settle,
    /// creation or drop) was an insert. A write replacing the entry in place leaves it as it is.
    var bornByInsert: Bool

    /// A key's first 24 bytes as three big-endian integers, zero-padded: keys equal in those bytes
    /// (or one a zero-padded prefix of the other) are compared in full.
    struct Prefix: Comparable {
        var a: UInt64, b: UInt64, c: UInt64

        static let width = 24

        init(_ key: UnsafeRawBufferPointer) {
            var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
            withUnsafeMutableBytes(of: &words) { raw in
                raw.copyMemory(from: UnsafeRawBufferPointer(rebasing: key.prefix(Self.width)))
            }
            a = UInt64(bigEndian: words.0)
            b = UInt64(bigEndian: words.1)
            c = UInt64(bigEndian: words.2)
        }

        /// A hash of this prefix and a key length `count` (multiplicative: its top bits, which
        /// pick a slot, mix every bit of the words).
        func hash(count: Int) -> UInt64 {
            let mixed = (a &* 0x9E37_79B9_7F4A_7C15) ^ (b &* 0xC2B2_AE3D_27D4_EB4F) ^ (c &* 0x1656_67B1_9E37_79F9)
                ^ UInt64(truncatingIfNeeded: count)
            return mixed &* 0x9E37_79B9_7F4A_7C15
        }

        static func < (l: Prefix, r: Prefix) -> Bool { (l.a, l.b, l.c) < (r.a, r.b, r.c) }
    }
}

extension BodyEntry {
    /// The entry's key: a slice of the log body it was collected from.
    func key(in body: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: body[key..<(key + keyCount)])
    }

    /// Sorts `entries` by key, then by log position, so the last of equal keys is the newest
    /// write. Keys are compared by their first 24 bytes as integers, and in full only when those
    /// agree and one is longer than that.
    ///
    /// Most of a chat log's entries fall into few groups by their keys' first eight bytes (a
    /// conversation's messages), each collected with its keys in order already (a conversation's
    /// messages are appended in time order): grouped, and each group sorted only when it is out of
    /// order, they are ordered in about one pass instead of a full sort. When the first eight
    /// bytes are mostly distinct (ids), the entries are sorted as a whole.
    static func sortByKey(_ entries: inout [BodyEntry], body: UnsafeRawBufferPointer) {
        func precedes(_ a: BodyEntry, _ b: BodyEntry) -> Bool {
            if a.prefix != b.prefix { return a.prefix < b.prefix }
            if a.keyCount <= BodyEntry.Prefix.width && b.keyCount <= BodyEntry.Prefix.width {
                // Zero-padded alike: the shorter key is a prefix of the longer one.
                return a.keyCount != b.keyCount ? a.keyCount < b.keyCount : a.position < b.position
            }
            let c = compareBytes(a.key(in: body), b.key(in: body))
            return c != 0 ? c < 0 : a.position < b.position
        }
        let groupLimit = max(16, entries.count / 16)
        var groupOf: [UInt64: Int] = [:]
        var groups: [[Int]] = []
        for index in entries.indices {
            let lead = entries[index].prefix.a
            if let group = groupOf[lead] {
                groups[group].append(index)
            } else if groups.count < groupLimit {
                groupOf[lead] = groups.count
                groups.append([index])
            } else {
                entries.withUnsafeMutableBufferPointer { $0.sort(by: precedes) }
                return
            }
        }
        // Groups differ in their first eight bytes, so ordering the groups by them and each group
        // within itself orders everything.
        var sorted: [BodyEntry] = []
        sorted.reserveCapacity(entries.count)
        for group in groups.indices.sorted(by: { entries[groups[$0][0]].prefix.a < entries[groups[$1][0]].prefix.a }) {
            let start = sorted.count
            for index in groups[group] { sorted.append(entries[index]) }
            sorted.withUnsafeMutableBufferPointer { all in
                var members = UnsafeMutableBufferPointer(rebasing: all[start...])
                if zip(members, members.dropFirst()).contains(where: { precedes($1, $0) }) { members.sort(by: precedes) }
            }
        }
        entries = sorted
    }
}
