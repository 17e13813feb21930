// Collects a run of log records' operations per tree, as offsets into the log body, for recovery
// (`Engine.recoveredLayer`). A write that a later one replaces (a conversation's record, rewritten
// at every append) is never copied: only the newest write of each key becomes a key and a value on
// the heap, when the trees are settled (`RecoveredTrees`).
//
// Recovery's two workers each collect one part of the log, the later part's builder starting
// after records it never sees. Everything it collects is relative to what came before (entries
// newer than the earlier part's, count changes to add to it) except a range delete, which removes
// the keys present at that point: a later part's builder cannot know them, and leaves such a tree
// to be replayed over the whole log (`deferred`), unless the tree was created or dropped within
// its own part, which hides everything earlier.

import CParleySupport

/// Collects the operations of a run of log records per tree. Use it only while the body is mapped.
struct RecoveredLayerBuilder {
    private let openBase: () throws -> ReadTransaction
    /// The trees below, opened by the first range delete that reads them.
    private var base: ReadTransaction?
    private let body: UnsafeRawBufferPointer
    /// Whether this builder replays a tree, by raw name (the others' operations are skipped).
    private let owns: (Bytes) -> Bool
    /// False for a builder that starts after the log's first records: a range delete of a tree it
    /// has not created or dropped defers the tree instead of reading below.
    private let seesEarlierRecords: Bool
    /// Trees in order of first appearance: raw name, name, whether replayed here, overlay so far,
    /// and the entries written since the overlay's map was last brought up to date, in log order.
    private var names: [Bytes] = []
    private var strings: [String] = []
    private var owned: [Bool] = []
    private var overlays: [TreeOverlay] = []
    private var unsorted: [[BodyEntry]] = []
    /// Per tree, a table of `1 << slotBits` slots, each the index in `unsorted` of the entry last
    /// collected for a key hashed there (-1 for none) and that key's hash; empty until the tree's
    /// first write. A write whose key it finds replaces that entry in place, so a key rewritten at
    /// every append (a conversation's record) is sorted once, not once per write. A lost slot (two
    /// keys hashed alike) only leaves an older write for the sort to drop. The hash is checked
    /// before the entry is read: most new keys then never touch an old entry (a cache miss).
    private var latest: [[Slot]] = []
    private let slotBits: Int
    /// Per tree, writes that looked their key up in the table since the last tally, and those that
    /// found it. A tree whose keys are written once each (a chat log's messages and their
    /// locators) gains nothing from the table and pays a cache miss per write for it (the log
    /// streaming through evicts it): after `tallyWindow` writes finding fewer than one in
    /// `keepRatio`, its table goes and its writes are appended (the sort drops older writes).
    private var lookups: [Int] = []
    private var found: [Int] = []
    private var tableDropped: [Bool] = []
    private let tallyWindow: Int
    static let keepRatio = 16
    /// Each write's place in the log, newer writes higher (`firstPosition` onwards).
    private var written: Int
    private var last = -1
    /// Raw names of the trees whose replay needs the records before this builder's (see above).
    private(set) var deferred: [Bytes] = []
    /// Set when an operation named a tree with a name that is not valid UTF-8 (its record is not
    /// well formed; recovery checks this after each record it has not checked before).
    private(set) var sawInvalidName = false

    /// 4,096 slots: a chat log's keys come back after a few hundred other writes at most.
    static let defaultSlotBits = 12
    static let defaultTallyWindow = 4096

    /// A builder of the records from the log's first on (`firstPosition` 0, `seesEarlierRecords`),
    /// or of a later part whose positions must all be above the earlier part's.
    init(
        openBase: @escaping () throws -> ReadTransaction, body: UnsafeRawBufferPointer, slotBits: Int = defaultSlotBits,
        firstPosition: Int = 0, seesEarlierRecords: Bool = true, tallyWindow: Int = defaultTallyWindow,
        owns: @escaping (Bytes) -> Bool = { _ in true }
    ) {
        self.openBase = openBase
        self.body = body
        self.slotBits = max(0, min(slotBits, 20))
        self.tallyWindow = max(1, tallyWindow)
        self.written = firstPosition
        self.seesEarlierRecords = seesEarlierRecords
        self.owns = owns
    }

    /// Closes the snapshot of the trees below, if a range delete opened one.
    mutating func closeBase() {
        base?.close()
        base = nil
    }

    /// The index of tree `name`, added when new (a record names few trees, and mostly the same one
    /// as the operation before).
    private mutating func index(of name: UnsafeRawBufferPointer) -> Int {
        if last >= 0, compareBytes(names[last], name) == 0 { return last }
        for i in names.indices where compareBytes(names[i], name) == 0 {
            last = i
            return i
        }
        if !LogOperation.ValidNames.isValid(name) { sawInvalidName = true }
        let raw = Bytes(name)
        names.append(raw)
        owned.append(owns(raw))
        strings.append(String(decoding: name, as: UTF8.self))
        overlays.append(TreeOverlay())
        unsorted.append([])
        latest.append([])
        lookups.append(0)
        found.append(0)
        tableDropped.append(false)
        last = names.count - 1
        return last
    }

    /// Where `slice` (a part of `body`) starts in `body`.
    private func offset(of slice: UnsafeRawBufferPointer) -> Int {
        guard let start = slice.baseAddress, let origin = body.baseAddress else { return 0 }
        return origin.distance(to: start)
    }

    /// Collects a write of tree `i`: `inserted` when the log records the key as absent before it
    /// (an `insert`).
    private mutating func collect(_ i: Int, _ operation: LogOperation.Fields, tombstone: Bool, inserted: Bool = false) {
        let key = operation.key
        let prefix = BodyEntry.Prefix(key)
        let value = tombstone ? -1 : offset(of: operation.value)
        let valueCount = tombstone ? 0 : operation.value.count
        written += 1
        if !tableDropped[i] { tally(i) }
        guard !tableDropped[i] else {
            unsorted[i].append(BodyEntry(
                prefix: prefix, key: offset(of: key), keyCount: key.count, value: value, valueCount: valueCount, position: written,
                bornByInsert: inserted))
            return
        }
        if latest[i].isEmpty { latest[i] = Array(repeating: Slot(index: -1, hash: 0), count: 1 << slotBits) }
        let hash = prefix.hash(count: key.count)
        let slot = self.slot(hash)
        let found = latest[i][slot].index
        // Equal prefixes and lengths make keys of up to 24 bytes equal; longer ones are compared.
        if found >= 0, latest[i][slot].hash == hash, unsorted[i][found].prefix == prefix, unsorted[i][found].keyCount == key.count,
           key.count <= BodyEntry.Prefix.width || compareBytes(unsorted[i][found].key(in: body), key) == 0 {
            self.found[i] += 1
            if tombstone && unsorted[i][found].bornByInsert {
                // The entry's writes are consecutive writes of the key (a later one would have
                // found it here), from an insert (absent before) to this delete (absent after):
                // together they change nothing, so the entry goes before it is ever sorted.
                removeCollected(i, at: found, slot: slot)
                return
            }
            unsorted[i][found].value = value
            unsorted[i][found].valueCount = valueCount
            unsorted[i][found].position = written
            return
        }
        latest[i][slot] = Slot(index: unsorted[i].count, hash: hash)
        unsorted[i].append(BodyEntry(
            prefix: prefix, key: offset(of: key), keyCount: key.count, value: value, valueCount: valueCount, position: written,
            bornByInsert: inserted))
    }

    /// Counts a lookup of tree `i`'s table about to be made, first dropping the table at the end
    /// of a window in which too few writes found their key.
    private mutating func tally(_ i: Int) {
        if lookups[i] >= tallyWindow {
            if found[i] * Self.keepRatio < lookups[i] {
                tableDropped[i] = true
                latest[i] = []
            }
            lookups[i] = 0
            found[i] = 0
        }
        lookups[i] += 1
    }

    private func slot(_ hash: UInt64) -> Int {
        slotBits > 0 ? Int(truncatingIfNeeded: hash >> UInt64(64 - slotBits)) : 0
    }

    /// Removes tree `i`'s entry `index`, found through `slot`: the last entry takes its place (the
    /// order of collection does not matter, positions keep the log's), and its slot follows it.
    private mutating func removeCollected(_ i: Int, at index: Int, slot: Int) {
        latest[i][slot] = Slot(index: -1, hash: 0)
        let last = unsorted[i].count - 1
        if index != last {
            let moved = unsorted[i][last]
            unsorted[i][index] = moved
            let movedSlot = self.slot(moved.prefix.hash(count: moved.keyCount))
            // The slot holds `last` only if it still speaks for the moved entry's key.
            if latest[i][movedSlot].index == last { latest[i][movedSlot].index = index }
        }
        unsorted[i].removeLast()
    }

    /// Forgets tree `i`'s collected entries (and the slots that point into them).
    private mutating func clearCollected(_ i: Int) {
        unsorted[i] = []
        latest[i] = []
    }

    mutating func apply(_ operation: LogOperation.Fields) throws {
        let i = index(of: operation.tree)
        guard owned[i] else { return }
        switch operation.kind {
        case .createTree:
            clearCollected(i)
            overlays[i] = TreeOverlay(exists: true, hidesBelow: true)
        case .dropTree:
            clearCollected(i)
            overlays[i] = TreeOverlay(exists: false, hidesBelow: true)
        case .put:
            collect(i, operation, tombstone: false)
        case .insert:
            collect(i, operation, tombstone: false, inserted: true)
            overlays[i].countDelta += 1
        case .delete:
            collect(i, operation, tombstone: true)
            overlays[i].countDelta -= 1
        case .deleteRange:
            guard seesEarlierRecords || overlays[i].hidesBelow else {
                // Which keys it removed depends on records this builder never saw.
                owned[i] = false
                clearCollected(i)
                overlays[i] = TreeOverlay()
                deferred.append(names[i])
                return
            }
            // Which keys it removed depends on everything before it: bring the tree up to date.
            if !unsorted[i].isEmpty {
                var entries = unsorted[i]
                clearCollected(i)
                RecoveredTrees.settle(&entries, into: &overlays[i], body: body)
            }
            let base = try self.base ?? openBase()
            self.base = base
            let view = LayeredView(layers: [MemLayer(trees: [strings[i]: overlays[i]])], base: base)
            guard try view.treeExists(strings[i]) else { return }
            let keys = try view.cursor(strings[i]).keys(from: Bytes(operation.key), to: Bytes(operation.value))
            for key in keys { overlays[i].entries.set(key, .tombstone) }
            overlays[i].countDelta -= Int64(keys.count)
        }
    }

    /// The trees replayed here (not deferred), in order of first appearance, moved out of the
    /// builder.
    mutating func takeTrees() -> [CollectedTree] {
        var trees: [CollectedTree] = []
        for i in names.indices where owned[i] {
            trees.append(CollectedTree(raw: names[i], name: strings[i], overlay: overlays[i], parts: [unsorted[i]]))
        }
        names = []
        strings = []
        owned = []
        overlays = []
        unsorted = []
        latest = []
        lookups = []
        found = []
        tableDropped = []
        last = -1
        return trees
    }
}

/// A tree's part of the log as a builder collected it: the overlay so far, and the entries
/// written since its map was last brought up to date (offsets into the log body, with positions),
/// in parts in log order: one per builder, joined without copying (`RecoveredTrees` makes them one
/// list, on the thread that sorts it).
struct CollectedTree {
    var raw: Bytes
    var name: String
    var overlay: TreeOverlay
    var parts: [[BodyEntry]]

    var count: Int { parts.reduce(0) { $0 + $1.count } }

    /// Adds `later`'s trees to `trees`, collected from the records right before them (every
    /// position in `later` above every one in `trees`), as one builder would have collected both
    /// parts. A tree `later` created or dropped is `later`'s alone; otherwise its entries follow
    /// the earlier ones and its count change adds to theirs.
    static func join(_ later: [CollectedTree], into trees: inout [CollectedTree]) {
        var indices: [Bytes: Int] = [:]
        for (i, tree) in trees.enumerated() { indices[tree.raw] = i }
        for tree in later {
            guard let i = indices[tree.raw] else {
                indices[tree.raw] = trees.count
                trees.append(tree)
                continue
            }
            if tree.overlay.hidesBelow {
                trees[i] = tree
                continue
            }
            // A later part settles a tree's map only for a range delete, and only of a tree it
            // created or dropped (it defers the others): this one's map is empty.
            assert(tree.overlay.entries.isEmptyMap, "a later part's tree that hides nothing below has no settled entries")
            trees[i].overlay.countDelta += tree.overlay.countDelta
            trees[i].parts.append(contentsOf: tree.parts)
        }
    }

    /// Puts `replacements` (trees replayed over the whole log) in place of the trees of the same
    /// names in `trees`.
    static func replace(_ trees: inout [CollectedTree], with replacements: [CollectedTree]) {
        var indices: [Bytes: Int] = [:]
        for (i, tree) in trees.enumerated() { indices[tree.raw] = i }
        for tree in replacements {
            if let i = indices[tree.raw] { trees[i] = tree } else { trees.append(tree) }
        }
    }
}

/// A slot of `RecoveredLayerBuilder`'s table of recent keys.
private struct Slot {
    var index: Int
    var hash: UInt64
}
