// Tree nodes decoded for change. A write transaction decodes a page into one of these, changes it,
// and encodes it into a fresh page at commit (copy-on-write: the page it came from is never written).

/// A leaf entry's value as a write transaction holds it.
enum LeafValue: Equatable {
    case inline(Bytes)
    case overflow(first: PageID, length: UInt32)

    var payloadSize: Int {
        switch self {
        case .inline(let bytes): return bytes.count
        case .overflow: return 8
        }
    }
}

struct LeafNode: Equatable {
    var keys: [Bytes] = []
    var values: [LeafValue] = []

    static func cellSize(keyLength: Int, value: LeafValue) -> Int {
        TreeLayout.slotSize + TreeLayout.leafCellHeader + keyLength + value.payloadSize
    }

    func cellSize(_ i: Int) -> Int { Self.cellSize(keyLength: keys[i].count, value: values[i]) }

    var encodedSize: Int {
        var size = TreeLayout.leafSlotsOffset
        for i in keys.indices { size += cellSize(i) }
        return size
    }

    func search(_ key: Bytes) -> (index: Int, found: Bool) {
        var low = 0, high = keys.count
        while low < high {
            let mid = (low + high) / 2
            let c = compareBytes(key, keys[mid])
            if c == 0 { return (mid, true) }
            if c > 0 { low = mid + 1 } else { high = mid }
        }
        return (low, false)
    }

    /// Encodes into a page image whose header the caller seals.
    func encode(into page: UnsafeMutableRawBufferPointer) {
        page.storeLE(UInt16(keys.count), at: TreeLayout.countOffset)
        page.storeLE(UInt16(0), at: TreeLayout.countOffset + 2)
        var end = page.count
        for i in keys.indices {
            let key = keys[i]
            let value = values[i]
            let size = TreeLayout.leafCellHeader + key.count + value.payloadSize
            end -= size
            page.storeLE(UInt16(end), at: TreeLayout.leafSlotsOffset + i * TreeLayout.slotSize)
            page.storeLE(UInt16(key.count), at: end)
            var cursor = end + TreeLayout.leafCellHeader
            page.copy(key, at: cursor)
            cursor += key.count
            switch value {
            case .inline(let bytes):
                page.storeLE(UInt8(0), at: end + 2)
                page.storeLE(UInt32(bytes.count), at: end + 3)
                page.copy(bytes, at: cursor)
            case .overflow(let first, let length):
                page.storeLE(UInt8(1), at: end + 2)
                page.storeLE(length, at: end + 3)
                page.storeLE(first, at: cursor)
            }
        }
    }
}

struct BranchNode: Equatable {
    var keys: [Bytes] = []
    var children: [PageID] = []

    static func cellSize(keyLength: Int) -> Int { TreeLayout.slotSize + TreeLayout.branchCellHeader + keyLength }

    var encodedSize: Int {
        var size = TreeLayout.branchSlotsOffset
        for key in keys { size += Self.cellSize(keyLength: key.count) }
        return size
    }

    func childIndex(for key: Bytes) -> Int {
        var low = 0, high = keys.count
        while low < high {
            let mid = (low + high) / 2
            if compareBytes(key, keys[mid]) >= 0 { low = mid + 1 } else { high = mid }
        }
        return low
    }

    func encode(into page: UnsafeMutableRawBufferPointer) {
        page.storeLE(UInt16(keys.count), at: TreeLayout.countOffset)
        page.storeLE(UInt16(0), at: TreeLayout.countOffset + 2)
        page.storeLE(children[0], at: TreeLayout.branchChild0Offset)
        var end = page.count
        for i in keys.indices {
            let key = keys[i]
            end -= TreeLayout.branchCellHeader + key.count
            page.storeLE(UInt16(end), at: TreeLayout.branchSlotsOffset + i * TreeLayout.slotSize)
            page.storeLE(UInt16(key.count), at: end)
            page.storeLE(children[i + 1], at: end + 2)
            page.copy(key, at: end + TreeLayout.branchCellHeader)
        }
    }
}

enum Node: Equatable {
    case leaf(LeafNode)
    case branch(BranchNode)

    var encodedSize: Int {
        switch self {
        case .leaf(let leaf): return leaf.encodedSize
        case .branch(let branch): return branch.encodedSize
        }
    }

    var pageType: PageType {
        switch self {
        case .leaf: return .leaf
        case .branch: return .branch
        }
    }

    func encode(pageSize: Int, number: PageID) -> Bytes {
        var page = Bytes(repeating: 0, count: pageSize)
        page.withUnsafeMutableBytes { p in
            switch self {
            case .leaf(let leaf): leaf.encode(into: p)
            case .branch(let branch): branch.encode(into: p)
            }
        }
        PageLayout.seal(&page, type: pageType, number: number)
        return page
    }
}

/// Chooses where to cut a run of cells into pieces that each fit a page, as even as it can.
/// `sizes` are the cells' sizes; `fixed` the per-page overhead. Returns the start index of each
/// piece after the first. With every cell at most a quarter page, the pieces always fit.
func balancedCuts(sizes: [Int], fixed: Int, capacity: Int) -> [Int] {
    let total = sizes.reduce(0, +)
    var pieces = max(1, (total + (capacity - fixed) - 1) / (capacity - fixed))
    while true {
        let target = (total + pieces - 1) / pieces
        var cuts: [Int] = []
        var running = 0
        var fits = true
        for (i, size) in sizes.enumerated() {
            if running > 0, running + size > capacity - fixed || (running >= target && cuts.count < pieces - 1) {
                cuts.append(i)
                running = 0
            }
            running += size
            if running > capacity - fixed { fits = false }
        }
        if fits && cuts.count < pieces { return cuts }
        pieces += 1
    }
}
