// The byte layout of leaf and branch pages (docs/FORMAT.md, "Tree pages"), read in place.
//
// Leaf:   header(16) | count u16 | reserved u16 | slots: count × u16 | ... cells packed at the end
//         cell = keyLength u16 | kind u8 (0 inline, 1 overflow) | valueLength u32 | key | value
//                (inline) or first overflow page u64 (overflow)
// Branch: header(16) | count u16 | reserved u16 | child0 u64 | slots: count × u16 | ... cells
//         cell = keyLength u16 | child u64 | key;  child i+1 holds keys >= key i, child 0 the rest.
//
// A view validates every slot and cell against the page bounds when it is made, so the accessors
// below never read outside the page, whatever bytes the disk returned.

enum TreeLayout {
    static let countOffset = 16
    static let leafSlotsOffset = 20
    static let branchChild0Offset = 20
    static let branchSlotsOffset = 28
    static let leafCellHeader = 7
    static let branchCellHeader = 10
    static let slotSize = 2

    /// The largest cell (slot included) a page of `pageSize` holds, so that any page holds four.
    static func maximumCell(pageSize: Int) -> Int { (pageSize - branchSlotsOffset) / 4 }

    /// The longest key a tree with this page size accepts.
    static func maximumKeyLength(pageSize: Int) -> Int {
        maximumCell(pageSize: pageSize) - slotSize - branchCellHeader - 8
    }

    /// True when a value of `valueLength` beside a key of `keyLength` stays in the leaf.
    static func storesInline(keyLength: Int, valueLength: Int, pageSize: Int) -> Bool {
        slotSize + leafCellHeader + keyLength + valueLength <= maximumCell(pageSize: pageSize)
    }
}

/// Where a leaf entry's value lives.
enum LeafValueLocation {
    case inline(UnsafeRawBufferPointer)
    case overflow(first: PageID, length: UInt32)
}

/// A validated leaf page, read in place.
struct LeafView {
    let page: UnsafeRawBufferPointer
    let id: PageID
    let count: Int

    init(_ page: UnsafeRawBufferPointer, id: PageID) throws {
        self.page = page
        self.id = id
        let count = Int(page.loadLE(UInt16.self, at: TreeLayout.countOffset))
        let slotsEnd = TreeLayout.leafSlotsOffset + count * TreeLayout.slotSize
        guard slotsEnd <= page.count else { throw EngineError.corruptPage(page: id, reason: "leaf cell count \(count) too large") }
        for i in 0..<count {
            let offset = Int(page.loadLE(UInt16.self, at: TreeLayout.leafSlotsOffset + i * TreeLayout.slotSize))
            guard offset >= slotsEnd, offset + TreeLayout.leafCellHeader <= page.count else {
                throw EngineError.corruptPage(page: id, reason: "leaf slot \(i) points outside the page")
            }
            let keyLength = Int(page.loadLE(UInt16.self, at: offset))
            let kind = page.loadLE(UInt8.self, at: offset + 2)
            let valueLength = Int(page.loadLE(UInt32.self, at: offset + 3))
            let payload: Int
            switch kind {
            case 0: payload = valueLength
            case 1: payload = 8
            default: throw EngineError.corruptPage(page: id, reason: "leaf cell \(i) has unknown kind \(kind)")
            }
            // The size limits writers keep; a larger cell could not be split into pages later.
            guard keyLength <= TreeLayout.maximumKeyLength(pageSize: page.count),
                  TreeLayout.slotSize + TreeLayout.leafCellHeader + keyLength + payload <= TreeLayout.maximumCell(pageSize: page.count)
            else {
                throw EngineError.corruptPage(page: id, reason: "leaf cell \(i) is larger than a cell may be")
            }
            guard payload <= page.count, offset + TreeLayout.leafCellHeader + keyLength + payload <= page.count else {
                throw EngineError.corruptPage(page: id, reason: "leaf cell \(i) runs past the page")
            }
        }
        self.count = count
    }

    /// A view of bytes that an earlier `init(_:id:)` validated (a cursor's copy of a leaf page).
    init(validated page: UnsafeRawBufferPointer, id: PageID, count: Int) {
        self.page = page
        self.id = id
        self.count = count
    }

    @inline(__always)
    private func cellOffset(_ i: Int) -> Int {
        Int(page.loadLE(UInt16.self, at: TreeLayout.leafSlotsOffset + i * TreeLayout.slotSize))
    }

    func key(_ i: Int) -> UnsafeRawBufferPointer {
        let offset = cellOffset(i)
        let length = Int(page.loadLE(UInt16.self, at: offset))
        let start = offset + TreeLayout.leafCellHeader
        return UnsafeRawBufferPointer(rebasing: page[start..<start + length])
    }

    func value(_ i: Int) -> LeafValueLocation {
        let offset = cellOffset(i)
        let keyLength = Int(page.loadLE(UInt16.self, at: offset))
        let kind = page.loadLE(UInt8.self, at: offset + 2)
        let valueLength = page.loadLE(UInt32.self, at: offset + 3)
        let start = offset + TreeLayout.leafCellHeader + keyLength
        if kind == 1 {
            return .overflow(first: page.loadLE(UInt64.self, at: start), length: valueLength)
        }
        return .inline(UnsafeRawBufferPointer(rebasing: page[start..<start + Int(valueLength)]))
    }

    /// The first index whose key is >= `key`, and whether it is equal.
    func search(_ key: Bytes) -> (index: Int, found: Bool) {
        key.withUnsafeBytes { key in
            var low = 0, high = count
            while low < high {
                let mid = (low + high) / 2
                let c = compareBytes(key, self.key(mid))
                if c == 0 { return (mid, true) }
                if c > 0 { low = mid + 1 } else { high = mid }
            }
            return (low, false)
        }
    }

    func decode() -> LeafNode {
        var node = LeafNode()
        node.keys.reserveCapacity(count)
        node.values.reserveCapacity(count)
        for i in 0..<count {
            node.keys.append(Bytes(key(i)))
            switch value(i) {
            case .inline(let bytes): node.values.append(.inline(Bytes(bytes)))
            case .overflow(let first, let length): node.values.append(.overflow(first: first, length: length))
            }
        }
        return node
    }
}

/// A validated branch page, read in place.
struct BranchView {
    let page: UnsafeRawBufferPointer
    let id: PageID
    /// Number of keys; there is one more child.
    let count: Int

    init(_ page: UnsafeRawBufferPointer, id: PageID) throws {
        self.page = page
        self.id = id
        let count = Int(page.loadLE(UInt16.self, at: TreeLayout.countOffset))
        let slotsEnd = TreeLayout.branchSlotsOffset + count * TreeLayout.slotSize
        guard count >= 1, slotsEnd <= page.count else {
            throw EngineError.corruptPage(page: id, reason: "branch key count \(count) invalid")
        }
        for i in 0..<count {
            let offset = Int(page.loadLE(UInt16.self, at: TreeLayout.branchSlotsOffset + i * TreeLayout.slotSize))
            guard offset >= slotsEnd, offset + TreeLayout.branchCellHeader <= page.count else {
                throw EngineError.corruptPage(page: id, reason: "branch slot \(i) points outside the page")
            }
            let keyLength = Int(page.loadLE(UInt16.self, at: offset))
            guard keyLength <= TreeLayout.maximumKeyLength(pageSize: page.count) else {
                throw EngineError.corruptPage(page: id, reason: "branch key \(i) is longer than a key may be")
            }
            guard offset + TreeLayout.branchCellHeader + keyLength <= page.count else {
                throw EngineError.corruptPage(page: id, reason: "branch cell \(i) runs past the page")
            }
        }
        self.count = count
    }

    /// A view of a page whose layout this process already validated (see `PageReader.branchView`).
    init(validated page: UnsafeRawBufferPointer, id: PageID) {
        self.page = page
        self.id = id
        self.count = Int(page.loadLE(UInt16.self, at: TreeLayout.countOffset))
    }

    @inline(__always)
    private func cellOffset(_ i: Int) -> Int {
        Int(page.loadLE(UInt16.self, at: TreeLayout.branchSlotsOffset + i * TreeLayout.slotSize))
    }

    func key(_ i: Int) -> UnsafeRawBufferPointer {
        let offset = cellOffset(i)
        let length = Int(page.loadLE(UInt16.self, at: offset))
        let start = offset + TreeLayout.branchCellHeader
        return UnsafeRawBufferPointer(rebasing: page[start..<start + length])
    }

    /// Child `i`, for i in 0...count.
    func child(_ i: Int) -> PageID {
        if i == 0 { return page.loadLE(UInt64.self, at: TreeLayout.branchChild0Offset) }
        return page.loadLE(UInt64.self, at: cellOffset(i - 1) + 2)
    }

    /// The child whose range holds `key`: the number of keys <= `key`.
    func childIndex(for key: Bytes) -> Int {
        key.withUnsafeBytes { key in
            var low = 0, high = count
            while low < high {
                let mid = (low + high) / 2
                if compareBytes(key, self.key(mid)) >= 0 { low = mid + 1 } else { high = mid }
            }
            return low
        }
    }

    func decode() -> BranchNode {
        var node = BranchNode()
        node.keys.reserveCapacity(count)
        node.children.reserveCapacity(count + 1)
        node.children.append(child(0))
        for i in 0..<count {
            node.keys.append(Bytes(key(i)))
            node.children.append(child(i + 1))
        }
        return node
    }
}
