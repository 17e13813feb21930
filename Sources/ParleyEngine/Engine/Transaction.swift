// A write transaction of the logged engine: its changes live in a private layer over the snapshot
// it began on and are recorded as log operations; commit appends one log record and lays the
// layer over the memtable.

/// The one write transaction of an `Engine`. Use it from one thread at a time.
public final class Transaction {
    let database: Engine
    /// What the transaction reads under its own changes, until it ends. Let go of before the commit
    /// lays `local` over the memtable: while this snapshot holds the active layer, every node that
    /// merge touches is shared and would be copied rather than changed in place.
    private(set) var snapshot: Snapshot?
    /// Sized for the trees a transaction of the chat store touches, so the table is not grown
    /// (and rehashed) two or three times during each append.
    var local = MemLayer(expectedTrees: 16)
    var operations: [LogOperation] = []
    /// Durability of this commit.
    public var durability: Durability
    var finished = false

    init(database: Engine, snapshot: Snapshot, durability: Durability) {
        self.database = database
        self.snapshot = snapshot
        self.durability = durability
    }

    deinit {
        if !finished { abort() }
    }

    private var view: LayeredView {
        get throws {
            guard let snapshot else { throw EngineError.invalidArgument("the transaction has ended") }
            return LayeredView(layers: [local] + snapshot.view.layers, base: snapshot.view.base)
        }
    }

    /// The value under `key` as this transaction sees it (its own changes over its snapshot).
    private func getExisting(_ tree: String, _ key: Bytes) throws -> Bytes? {
        guard let snapshot else { throw EngineError.invalidArgument("the transaction has ended") }
        return try snapshot.view.getExisting(tree, key, under: local)
    }

    /// Ends the snapshot and drops this transaction's references to the memtable's layers.
    private func releaseSnapshot() {
        snapshot?.close()
        snapshot = nil
    }

    private func checkOpen() throws {
        guard !finished else { throw EngineError.invalidArgument("the transaction has ended") }
    }

    /// Whether `tree` exists for this transaction: its own layer decides if it created or dropped
    /// the tree, else its snapshot; no list of layers is built (as `view` does), since every
    /// known-key write asks.
    private func treeExistsUnderLocal(_ tree: String) throws -> Bool {
        guard let snapshot else { throw EngineError.invalidArgument("the transaction has ended") }
        if let overlay = local.trees[tree] {
            // An overlay that neither created nor dropped the tree was made by a change, which
            // found the tree under this snapshot first; the snapshot does not change, and only a
            // create or drop here sets `exists`. So the tree exists, without asking every layer
            // again (an append changes each of its trees two or three times).
            return overlay.exists ?? true
        }
        return try snapshot.view.treeExists(tree)
    }

    private func requireTree(_ tree: String) throws {
        guard try treeExistsUnderLocal(tree) else { throw EngineError.treeNotFound(name: tree) }
    }

    private func checkSizes(_ key: Bytes, _ value: Bytes) throws {
        guard key.count <= maximumKeyLength else { throw EngineError.keyTooLarge(length: key.count, maximum: maximumKeyLength) }
        guard value.count <= WriteTransaction.maximumValueLength else {
            throw EngineError.valueTooLarge(length: value.count, maximum: WriteTransaction.maximumValueLength)
        }
    }

    /// Records `value` for `key` in this transaction's own layer, in place, so the transaction's
    /// own map nodes are changed rather than copied.
    private func change(_ tree: String, _ key: Bytes, _ value: MemValue, countDelta: Int64) {
        local.trees[tree, default: TreeOverlay()].set(key, value, countDelta: countDelta)
    }

    /// The longest key the database accepts.
    public var maximumKeyLength: Int { TreeLayout.maximumKeyLength(pageSize: database.storage.pageSize) }

    // MARK: - Reads

    public func treeExists(_ tree: String) throws -> Bool { try treeExistsUnderLocal(tree) }

    public func get(_ tree: String, _ key: Bytes) throws -> Bytes? {
        try checkOpen()
        return try getExisting(tree, key)
    }

    /// The values under `keys` in `tree` as this transaction sees them, in their order.
    public func getMany(_ tree: String, _ keys: [Bytes]) throws -> [Bytes?] {
        try checkOpen()
        guard let snapshot else { throw EngineError.invalidArgument("the transaction has ended") }
        return try snapshot.view.getManyExisting(tree, keys, under: local)
    }

    public func count(_ tree: String) throws -> UInt64 {
        try checkOpen()
        try requireTree(tree)
        return try view.count(tree)
    }

    /// A cursor over `tree` as this transaction sees it now (later changes are not reflected).
    public func cursor(_ tree: String) throws -> MergedCursor {
        try checkOpen()
        try requireTree(tree)
        return try view.cursor(tree)
    }

    // MARK: - Changes

    /// Creates an empty tree unless one of this name exists; true when it was created.
    @discardableResult
    public func createTree(_ tree: String) throws -> Bool {
        try checkOpen()
        let name = Array(tree.utf8)
        guard !name.isEmpty, name.count <= maximumKeyLength else {
            throw EngineError.invalidArgument("a tree name must be 1 to \(maximumKeyLength) bytes")
        }
        if try treeExistsUnderLocal(tree) { return false }
        local.trees[tree] = TreeOverlay(exists: true, hidesBelow: true)
        operations.append(.createTree(tree))
        return true
    }

    /// Deletes a tree and everything in it.
    public func dropTree(_ tree: String) throws {
        try checkOpen()
        try requireTree(tree)
        local.trees[tree] = TreeOverlay(exists: false, hidesBelow: true)
        operations.append(.dropTree(tree))
    }

    /// Stores `value` under `key`, replacing any value there.
    public func put(_ tree: String, _ key: Bytes, _ value: Bytes) throws {
        try checkOpen()
        try checkSizes(key, value)
        let existed = try getExisting(tree, key) != nil
        change(tree, key, .put(value), countDelta: existed ? 0 : 1)
        // Whether the key is new is logged, so replay counts entries without reading the trees.
        operations.append(existed ? .put(tree: tree, key: key, value: value) : .insert(tree: tree, key: key, value: value))
    }

    /// Stores `value` under `key`, which the caller's own invariants say is absent (a key made
    /// from a fresh id, an index entry for a time it has just moved to). `put` looks the key up
    /// through every layer and the B+tree only to learn that; skipping the lookup is most of
    /// what an append costs. The claim decides the tree's count until the next checkpoint (the
    /// B+tree counts what it really holds) and the log's `insert` flag, which replay trusts (an
    /// insert then a delete of one key replays as nothing), so debug builds, which the tests
    /// run, check it and throw.
    package func insertAbsent(_ tree: String, _ key: Bytes, _ value: Bytes) throws {
        try checkOpen()
        try checkSizes(key, value)
        try requireTree(tree)
        #if DEBUG
        if try getExisting(tree, key) != nil {
            throw EngineError.invalidArgument("insertAbsent: the key is present in \(tree)")
        }
        #endif
        change(tree, key, .put(value), countDelta: 1)
        operations.append(.insert(tree: tree, key: key, value: value))
    }

    /// Replaces the value under `key`, which the caller's own invariants say is present (a
    /// record just read, an index entry its record points at): `put` without its lookup, checked
    /// like ``insertAbsent(_:_:_:)``. The count stays and the log says `put`.
    package func replacePresent(_ tree: String, _ key: Bytes, _ value: Bytes) throws {
        try checkOpen()
        try checkSizes(key, value)
        try requireTree(tree)
        #if DEBUG
        if try getExisting(tree, key) == nil {
            throw EngineError.invalidArgument("replacePresent: the key is absent from \(tree)")
        }
        #endif
        change(tree, key, .put(value), countDelta: 0)
        operations.append(.put(tree: tree, key: key, value: value))
    }

    /// Removes `key`, which the caller's own invariants say is present (an index entry its
    /// record points at); the counterpart of ``insertAbsent(_:_:_:)``, checked the same way.
    package func deletePresent(_ tree: String, _ key: Bytes) throws {
        try checkOpen()
        try requireTree(tree)
        #if DEBUG
        if try getExisting(tree, key) == nil {
            throw EngineError.invalidArgument("deletePresent: the key is absent from \(tree)")
        }
        #endif
        change(tree, key, .tombstone, countDelta: -1)
        operations.append(.delete(tree: tree, key: key))
    }

    /// Removes `key`; true when it was there.
    @discardableResult
    public func delete(_ tree: String, _ key: Bytes) throws -> Bool {
        try checkOpen()
        guard try getExisting(tree, key) != nil else { return false }
        change(tree, key, .tombstone, countDelta: -1)
        operations.append(.delete(tree: tree, key: key))
        return true
    }

    /// Removes every key `k` with `start <= k < end`; returns how many there were.
    @discardableResult
    public func deleteRange(_ tree: String, from start: Bytes, to end: Bytes) throws -> Int {
        try checkOpen()
        try requireTree(tree)
        let keys = try view.cursor(tree).keys(from: start, to: end)
        guard !keys.isEmpty else { return 0 }
        local.trees[tree, default: TreeOverlay()].delete(keys)
        operations.append(.deleteRange(tree: tree, start: start, end: end))
        return keys.count
    }

    // MARK: - End

    /// Commits: appends the log record (durable as `durability` says) and makes the changes visible.
    public func commit() throws {
        try checkOpen()
        finished = true
        releaseSnapshot()
        try database.commit(self)
    }

    /// Drops every change. Idempotent.
    public func abort() {
        guard !finished else { return }
        finished = true
        releaseSnapshot()
        database.writerEnded()
    }
}
