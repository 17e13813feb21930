// Turns the trees recovery collected (`CollectedTree`: offsets into the log body) into the
// memtable layer: each tree's entries sorted by key, the newest write of each key copied out of
// the log, and the tree's map built from them at once instead of one insertion per key.
//
// Copying is most of it (a chat log's pending messages are most of its bytes, each a fresh heap
// allocation and fresh pages to fault in), and one tree may hold most of the copies, so the copies
// of all trees are cut into two runs of about equal bytes, one per thread, rather than handed out a
// tree at a time.

import CParleySupport
import Dispatch

enum RecoveredTrees {
    /// How many entries ahead of the one it copies a thread asks for an entry's bytes.
    static let prefetchDistance = 8
    /// What copying an entry costs besides its bytes (two allocations and a node's slot), in bytes.
    static let copyOverhead = 96

    /// Values of at least this many bytes are left in a mapped log (`LoggedValue`); shorter ones
    /// are copied, which costs about what the object pointing at one would, and reads them from
    /// the heap rather than from the log's pages.
    static let loggedMinimum = 128

    /// The layer of `trees` read from `body`, built on `threads` threads (1 or 2). With `mapped`,
    /// the same body mapped, values of `loggedMinimum` bytes or more are left in it.
    static func layer(
        _ trees: consuming [CollectedTree], body: UnsafeRawBufferPointer, valuesIn mapped: RecoveredLog?, lastSequence: UInt64,
        threads: Int
    ) -> MemLayer {
        // Offsets are into `body`: the mapped log must be that very body.
        let mapped = mapped.flatMap { $0.body.baseAddress == body.baseAddress && $0.body.count == body.count ? $0 : nil }
        // Moved out of the trees, so that the lists are sorted and the maps changed in place (no
        // other reference makes them copy first).
        let pieces = UnsafeMutableBufferPointer<[[BodyEntry]]>.allocate(capacity: trees.count)
        let lists = UnsafeMutableBufferPointer<[BodyEntry]>.allocate(capacity: trees.count)
        lists.initialize(repeating: [])
        let overlays = UnsafeMutableBufferPointer<TreeOverlay>.allocate(capacity: trees.count)
        var names: [String] = []
        var counts: [Int] = []
        for i in trees.indices {
            pieces.initializeElement(at: i, to: trees[i].parts)
            overlays.initializeElement(at: i, to: trees[i].overlay)
            names.append(trees[i].name)
            counts.append(trees[i].count)
        }
        trees = []
        defer { pieces.deinitialize().deallocate() }
        defer { lists.deinitialize().deallocate() }
        defer { overlays.deinitialize().deallocate() }
        let newest = UnsafeMutableBufferPointer<[Int]>.allocate(capacity: names.count)
        newest.initialize(repeating: [])
        defer { newest.deinitialize().deallocate() }
        let work = Work(pieces: pieces, lists: lists, overlays: overlays, newest: newest, body: body, mapped: mapped)
        let split = shares(of: counts, threads: threads)

        // Sorted, and reduced to the newest write of each key, each tree by one thread. A tree
        // whose map already holds entries (a range delete settled it) takes its writes one by one.
        DispatchQueue.concurrentPerform(iterations: split.count) { thread in
            for i in split[thread] {
                work.lists[i] = work.joinedPieces(i)
                guard work.overlays[i].entries.isEmptyMap else {
                    settle(&work.lists[i], into: &work.overlays[i], body: work.body)
                    continue
                }
                BodyEntry.sortByKey(&work.lists[i], body: work.body)
                work.newest[i] = newestWrites(work.lists[i], body: work.body)
            }
        }

        // Every copy in one sequence, tree after tree, cut into runs of about equal cost.
        var starts: [Int] = []
        var total = 0
        var cost = 0
        for i in lists.indices {
            starts.append(total)
            total += newest[i].count
            for n in newest[i] { cost += copyCost(lists[i][n], mapped: mapped) }
        }
        let copies = UnsafeMutableBufferPointer<(Bytes, MemValue)>.allocate(capacity: max(total, 1))
        defer { copies.deallocate() }
        let middle = halfway(cost: cost, lists: lists, newest: newest, mapped: mapped)
        let runs = threads > 1 && middle > 0 && middle < total ? [0..<middle, middle..<total] : [0..<total]
        let copying = Copying(work: work, copies: copies, starts: starts)
        DispatchQueue.concurrentPerform(iterations: runs.count) { thread in
            copying.copy(runs[thread])
        }

        // Each map built from its own copies, which are moved out: every slot was initialized once
        // above and is moved out once here.
        DispatchQueue.concurrentPerform(iterations: split.count) { thread in
            for i in split[thread] where !copying.work.newest[i].isEmpty {
                let start = copying.starts[i]
                copying.work.overlays[i].entries = PersistentMap(sortedCount: copying.work.newest[i].count) { rank in
                    copying.copies.moveElement(from: start + rank)
                }
            }
        }
        var layer = MemLayer()
        for i in names.indices { layer.trees[names[i]] = overlays[i] }
        layer.lastSequence = lastSequence
        return layer
    }

    /// Tree indices for each of `threads` threads (1 or 2), the largest first, each to the thread
    /// with fewer entries so far.
    private static func shares(of counts: [Int], threads: Int) -> [[Int]] {
        guard threads > 1 else { return [Array(counts.indices)] }
        var shares: [[Int]] = [[], []]
        var loads = [0, 0]
        for i in counts.indices.sorted(by: { counts[$0] > counts[$1] }) {
            let thread = loads[1] < loads[0] ? 1 : 0
            shares[thread].append(i)
            loads[thread] += counts[i]
        }
        return shares[1].isEmpty ? [shares[0]] : shares
    }

    /// Where the cost of the copies so far reaches half of `cost`: the first copy of the second run.
    private static func halfway(
        cost: Int, lists: UnsafeMutableBufferPointer<[BodyEntry]>, newest: UnsafeMutableBufferPointer<[Int]>, mapped: RecoveredLog?
    ) -> Int {
        var sofar = 0
        var index = 0
        for i in newest.indices {
            for n in newest[i] {
                if sofar * 2 >= cost { return index }
                sofar += copyCost(lists[i][n], mapped: mapped)
                index += 1
            }
        }
        return index
    }

    /// What making `entry`'s key and value costs, in bytes copied.
    private static func copyCost(_ entry: BodyEntry, mapped: RecoveredLog?) -> Int {
        let leftInLog = mapped != nil && entry.valueCount >= loggedMinimum
        return copyOverhead + entry.keyCount + (leftInLog ? 0 : entry.valueCount)
    }

    /// The indices of the newest write of each key in `entries` (sorted by key, then position),
    /// leaving out keys that need no entry: those whose first write here was an insert (absent from
    /// everything below) and whose last is a delete (absent after), as an inbox or status key is,
    /// written at one append and deleted at the next.
    static func newestWrites(_ entries: [BodyEntry], body: UnsafeRawBufferPointer) -> [Int] {
        var newest: [Int] = []
        newest.reserveCapacity(entries.count)
        var groupStart = 0
        for n in entries.indices {
            if n + 1 < entries.count, entries[n].prefix == entries[n + 1].prefix, entries[n].keyCount == entries[n + 1].keyCount,
               compareBytes(entries[n].key(in: body), entries[n + 1].key(in: body)) == 0 { continue }
            let vanished = entries[groupStart].bornByInsert && entries[n].value < 0
            groupStart = n + 1
            if !vanished { newest.append(n) }
        }
        return newest
    }

    /// Moves `entries` (collected in log order, sorted here in place) into `overlay`'s map one by
    /// one: the last write of each key wins.
    static func settle(_ entries: inout [BodyEntry], into overlay: inout TreeOverlay, body: UnsafeRawBufferPointer) {
        guard !entries.isEmpty else { return }
        BodyEntry.sortByKey(&entries, body: body)
        for n in newestWrites(entries, body: body) {
            let (key, value) = materialize(entries[n], in: body, mapped: nil)
            overlay.entries.set(key, value)
        }
    }

    /// Starts loading the cache lines of `entry`'s key and of its value when it is to be copied.
    static func prefetch(_ entry: BodyEntry, in body: UnsafeRawBufferPointer, mapped: RecoveredLog?) {
        guard let origin = body.baseAddress else { return }
        parley_prefetch(origin + entry.key)
        if entry.value >= 0, mapped == nil || entry.valueCount < loggedMinimum {
            parley_prefetch(origin + entry.value)
            if entry.valueCount > 64 { parley_prefetch(origin + entry.value + entry.valueCount - 1) }
        }
    }

    /// The entry as the memtable holds it: its key copied out of the body, and its value copied
    /// too, or left in `mapped` (the body, mapped) when it is long enough.
    static func materialize(_ entry: BodyEntry, in body: UnsafeRawBufferPointer, mapped: RecoveredLog?) -> (Bytes, MemValue) {
        let key = Bytes(entry.key(in: body))
        guard entry.value >= 0 else { return (key, .tombstone) }
        let range = entry.value..<(entry.value + entry.valueCount)
        if let mapped, entry.valueCount >= loggedMinimum, let value = LoggedValue(log: mapped, range: range) {
            return (key, .logged(value))
        }
        return (key, .put(Bytes(UnsafeRawBufferPointer(rebasing: body[range]))))
    }
}

/// What `RecoveredTrees.layer` hands to its threads: the body stays mapped, and each tree's list,
/// overlay and newest writes are changed by one thread at a time, with a join between phases.
private struct Work: @unchecked Sendable {
    /// Each tree's entries as collected, in parts; made one list (`lists`) before it is sorted.
    let pieces: UnsafeMutableBufferPointer<[[BodyEntry]]>
    let lists: UnsafeMutableBufferPointer<[BodyEntry]>
    let overlays: UnsafeMutableBufferPointer<TreeOverlay>
    let newest: UnsafeMutableBufferPointer<[Int]>
    let body: UnsafeRawBufferPointer
    let mapped: RecoveredLog?

    /// Tree `i`'s parts as one list, taken out of `pieces` (a single part is moved, not copied).
    func joinedPieces(_ i: Int) -> [BodyEntry] {
        var parts = pieces[i]
        pieces[i] = []
        if parts.count == 1 { return parts.removeLast() }
        var joined: [BodyEntry] = []
        joined.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for part in parts { joined.append(contentsOf: part) }
        return joined
    }
}

/// The copies of every tree's newest writes: tree `i`'s `rank`th key in order at
/// `starts[i] + rank`. Each thread initializes the slots of its own run only.
private struct Copying: @unchecked Sendable {
    let work: Work
    let copies: UnsafeMutableBufferPointer<(Bytes, MemValue)>
    let starts: [Int]

    func copy(_ run: Range<Int>) {
        for i in starts.indices {
            let count = work.newest[i].count
            let low = max(run.lowerBound, starts[i]), high = min(run.upperBound, starts[i] + count)
            guard low < high else { continue }
            let list = work.lists[i], newest = work.newest[i]
            for slot in low..<high {
                // A tree's keys in order jump about the log (far larger than the CPU's caches):
                // the entry a few ranks on is asked for now, so its bytes are on their way.
                let rank = slot - starts[i]
                if rank + RecoveredTrees.prefetchDistance < count {
                    RecoveredTrees.prefetch(list[newest[rank + RecoveredTrees.prefetchDistance]], in: work.body, mapped: work.mapped)
                }
                copies.initializeElement(at: slot, to: RecoveredTrees.materialize(list[newest[rank]], in: work.body, mapped: work.mapped))
            }
        }
    }
}
