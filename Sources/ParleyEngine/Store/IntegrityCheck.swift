// The integrity walk: every page of the committed state accounted for exactly once.
//
// It checks, from the newest meta page: every tree reachable from the catalog (page checksums and
// types, key order within and across pages, separators, equal leaf depth, entry counts against
// the descriptors, overflow chains against their lengths), the freelist chain, and that the trees,
// overflow chains, freelist chunks and free entries together cover pages 3..<pageCount once each:
// no page used twice, none leaked. It reports every problem it finds rather than stopping at one.

/// What the integrity walk found.
public struct IntegrityReport: Sendable, Equatable {
    /// Every problem found; empty when the database is sound.
    public var problems: [String] = []
    /// Entries per tree.
    public var trees: [String: UInt64] = [:]
    /// Pages used by trees and overflow chains.
    public var treePages: UInt64 = 0
    /// Freelist chunk pages plus the free pages they list.
    public var freelistPages: UInt64 = 0
    public var freePages: UInt64 = 0
    public var pageCount: UInt64 = 0

    public var isSound: Bool { problems.isEmpty }
}

extension StorageEngine {
    /// Walks the whole committed state and reports every problem found.
    public func checkIntegrity() throws -> IntegrityReport {
        let transaction = try beginRead(checkingEveryPage: true)
        defer { transaction.close() }
        var walk = IntegrityWalk(transaction: transaction)
        walk.run()
        return walk.report
    }
}

struct IntegrityWalk {
    let transaction: ReadTransaction
    var report = IntegrityReport()
    /// Page -> what claimed it first.
    private var owner: [PageID: String] = [:]

    init(transaction: ReadTransaction) {
        self.transaction = transaction
        report.pageCount = transaction.meta.pageCount
    }

    private mutating func claim(_ id: PageID, by user: String) -> Bool {
        guard id >= PageLayout.firstDataPage, id < report.pageCount else {
            report.problems.append("\(user): page \(id) is outside the file's pages 3..<\(report.pageCount)")
            return false
        }
        if let first = owner[id] {
            report.problems.append("page \(id) is used twice: by \(first) and by \(user)")
            return false
        }
        owner[id] = user
        return true
    }

    mutating func run() {
        let meta = transaction.meta
        // The catalog first, then each tree it names.
        var names: [(String, TreeDescriptor)] = []
        var entries: [(Bytes, Bytes)] = []
        var collected: [(Bytes, Bytes)]? = []
        let catalogCount = walkTree(root: meta.catalog.root, name: "catalog", collect: &collected)
        entries = collected ?? []
        for (key, value) in entries {
            let name = String(decoding: key, as: UTF8.self)
            if let descriptor = TreeDescriptor.decode(value) {
                names.append((name, descriptor))
            } else {
                report.problems.append("catalog entry \"\(name)\" is malformed")
            }
        }
        if catalogCount != meta.catalog.count {
            report.problems.append("catalog holds \(catalogCount) entries, meta says \(meta.catalog.count)")
        }
        for (name, descriptor) in names {
            var ignored: [(Bytes, Bytes)]? = nil
            let count = walkTree(root: descriptor.root, name: "tree \"\(name)\"", collect: &ignored)
            report.trees[name] = count
            if count != descriptor.count {
                report.problems.append("tree \"\(name)\" holds \(count) entries, its descriptor says \(descriptor.count)")
            }
        }
        report.treePages = UInt64(owner.count)
        walkFreelist(meta)
        let accounted = UInt64(owner.count)
        let expected = report.pageCount - PageLayout.firstDataPage
        if accounted < expected {
            var leaked: [PageID] = []
            var id = PageLayout.firstDataPage
            while id < report.pageCount, leaked.count < 20 {
                if owner[id] == nil { leaked.append(id) }
                id += 1
            }
            report.problems.append("\(expected - accounted) pages leaked (neither used nor free), e.g. \(leaked)")
        }
    }

    private mutating func walkFreelist(_ meta: MetaPage) {
        do {
            let list = try Freelist.load(meta: meta, reader: transaction.reader)
            for chunk in list.chunks where claim(chunk.page, by: "freelist chunk") { report.freelistPages += 1 }
            for id in list.allFreePages where claim(id, by: "freelist entry") { report.freePages += 1 }
        } catch {
            report.problems.append("freelist: \(error)")
        }
    }

    /// Walks one tree depth-first, checking structure and order; returns its entry count.
    private mutating func walkTree(root: PageID, name: String, collect: inout [(Bytes, Bytes)]?) -> UInt64 {
        guard root != 0 else { return 0 }
        var count: UInt64 = 0
        var leafDepth: Int?
        // (page, depth, lower bound inclusive, upper bound exclusive)
        var stack: [(PageID, Int, Bytes?, Bytes?)] = [(root, 0, nil, nil)]
        while let (id, depth, low, high) = stack.popLast() {
            guard claim(id, by: name) else { continue }
            guard depth < transaction.maximumDepth else {
                report.problems.append("\(name): deeper than \(transaction.maximumDepth) levels at page \(id)")
                continue
            }
            let node: Node
            do { node = try transaction.node(id) } catch {
                report.problems.append("\(name): \(error)")
                continue
            }
            let keys: [Bytes]
            switch node {
            case .leaf(let leaf): keys = leaf.keys
            case .branch(let branch): keys = branch.keys
            }
            for i in keys.indices {
                if i > 0, compareBytes(keys[i - 1], keys[i]) >= 0 {
                    report.problems.append("\(name): keys out of order in page \(id) at \(i)")
                }
                if let low, compareBytes(keys[i], low) < 0 {
                    report.problems.append("\(name): page \(id) has a key below its parent's separator")
                }
                if let high, compareBytes(keys[i], high) >= 0 {
                    report.problems.append("\(name): page \(id) has a key at or above its parent's separator")
                }
            }
            switch node {
            case .leaf(let leaf):
                if let leafDepth, leafDepth != depth {
                    report.problems.append("\(name): leaf \(id) at depth \(depth), others at \(leafDepth)")
                }
                leafDepth = depth
                count += UInt64(leaf.keys.count)
                for (key, value) in zip(leaf.keys, leaf.values) {
                    if case .overflow(let first, let length) = value {
                        do {
                            let ids = try Overflow.walk(first: first, length: length, pageSize: transaction.reader.pageSize) { page, body in
                                try transaction.withRawPage(page, body)
                            }
                            for page in ids { _ = claim(page, by: "\(name) overflow") }
                        } catch {
                            report.problems.append("\(name): overflow value in page \(id): \(error)")
                            continue
                        }
                    }
                    do {
                        let bytes = try transaction.readValue(value)
                        collect?.append((key, bytes))
                    } catch {
                        report.problems.append("\(name): value in page \(id): \(error)")
                    }
                }
            case .branch(let branch):
                for (i, child) in branch.children.enumerated().reversed() {
                    let childLow = i == 0 ? low : branch.keys[i - 1]
                    let childHigh = i == branch.keys.count ? high : branch.keys[i]
                    stack.append((child, depth + 1, childLow, childHigh))
                }
            }
        }
        return count
    }
}
