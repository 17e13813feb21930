// The operations a log record carries, and their encoding (docs/FORMAT.md, "Log records").
//
// A record's payload is a sequence of operations, each an opcode byte followed by its fields; byte
// strings are a varint length and the bytes. Decoding checks every length against the payload, so
// a damaged record is an error, never a read past its end.

/// One change to a named tree, as the log records it.
public enum LogOperation: Equatable, Sendable {
    case createTree(String)
    case dropTree(String)
    case put(tree: String, key: Bytes, value: Bytes)
    /// A put of a key that was absent before it (log version 2): replay counts the tree's entries
    /// from the operations alone, without looking keys up in the B+trees.
    case insert(tree: String, key: Bytes, value: Bytes)
    case delete(tree: String, key: Bytes)
    /// Removes every key `k` with `start <= k < end`.
    case deleteRange(tree: String, start: Bytes, end: Bytes)

    private static let createCode: UInt8 = 1
    private static let dropCode: UInt8 = 2
    private static let putCode: UInt8 = 3
    private static let deleteCode: UInt8 = 4
    private static let rangeCode: UInt8 = 5
    private static let insertCode: UInt8 = 6

    func encode(into out: inout Bytes) {
        func string(_ bytes: Bytes) {
            Varint.append(UInt64(bytes.count), to: &out)
            out.append(contentsOf: bytes)
        }
        // Tree names are written from their UTF-8 view: an array of them per operation was an
        // allocation per key an append changed.
        func name(_ tree: String) {
            Varint.append(UInt64(tree.utf8.count), to: &out)
            out.append(contentsOf: tree.utf8)
        }
        switch self {
        case .createTree(let tree):
            out.append(Self.createCode)
            name(tree)
        case .dropTree(let tree):
            out.append(Self.dropCode)
            name(tree)
        case .put(let tree, let key, let value), .insert(let tree, let key, let value):
            if case .insert = self { out.append(Self.insertCode) } else { out.append(Self.putCode) }
            name(tree)
            string(key)
            string(value)
        case .delete(let tree, let key):
            out.append(Self.deleteCode)
            name(tree)
            string(key)
        case .deleteRange(let tree, let start, let end):
            out.append(Self.rangeCode)
            name(tree)
            string(start)
            string(end)
        }
    }

    /// An upper bound of the encoded size: a kind byte, and each field with a varint length of
    /// at most 10 bytes.
    var encodedSizeBound: Int {
        switch self {
        case .createTree(let tree), .dropTree(let tree): return 11 + tree.utf8.count
        case .put(let tree, let key, let value), .insert(let tree, let key, let value):
            return 31 + tree.utf8.count + key.count + value.count
        case .delete(let tree, let key): return 21 + tree.utf8.count + key.count
        case .deleteRange(let tree, let start, let end): return 31 + tree.utf8.count + start.count + end.count
        }
    }

    static func encode(_ operations: [LogOperation]) -> Bytes { encode(operations, leadingRoom: 0) }

    /// The payload of `operations` after `leadingRoom` zero bytes, where a record's frame is
    /// filled in later (`LogFormat.frameRecord`) so the record is never copied to be framed.
    static func encode(_ operations: [LogOperation], leadingRoom: Int) -> Bytes {
        var out = Bytes()
        // Sized once: a thousand-message transaction's payload would otherwise be copied each
        // time it doubled.
        out.reserveCapacity(operations.reduce(leadingRoom) { $0 + $1.encodedSizeBound })
        out.append(contentsOf: repeatElement(0, count: leadingRoom))
        for operation in operations { operation.encode(into: &out) }
        return out
    }

    /// Decodes a whole payload; nil when any part of it is malformed.
    static func decode(_ payload: UnsafeRawBufferPointer) -> [LogOperation]? {
        var operations: [LogOperation] = []
        var namesValid = true
        let structured = forEach(payload) { fields in
            guard namesValid, let tree = String(validating: fields.tree, as: UTF8.self) else {
                namesValid = false
                return
            }
            let key = Bytes(fields.key), value = Bytes(fields.value)
            switch fields.kind {
            case .createTree: operations.append(.createTree(tree))
            case .dropTree: operations.append(.dropTree(tree))
            case .put: operations.append(.put(tree: tree, key: key, value: value))
            case .insert: operations.append(.insert(tree: tree, key: key, value: value))
            case .delete: operations.append(.delete(tree: tree, key: key))
            case .deleteRange: operations.append(.deleteRange(tree: tree, start: key, end: value))
            }
        }
        return structured && namesValid ? operations : nil
    }

    // MARK: - Decoding in place (recovery)

    /// What an operation is, for `forEach`.
    enum Kind {
        case createTree, dropTree, put, insert, delete, deleteRange
    }

    /// One operation as slices of its payload: no allocation. `key` and `value` are empty where the
    /// kind has none; a range's start is `key` and its end `value`.
    struct Fields {
        var kind: Kind
        var tree: UnsafeRawBufferPointer
        var key: UnsafeRawBufferPointer
        var value: UnsafeRawBufferPointer
    }

    /// Calls `body` with each operation of `payload` in order; false (having stopped) when the
    /// payload is malformed. Bounds are checked before any slice is taken.
    @discardableResult
    static func forEach(_ payload: UnsafeRawBufferPointer, _ body: (Fields) throws -> Void) rethrows -> Bool {
        var offset = 0
        let empty = UnsafeRawBufferPointer(rebasing: payload[0..<0])
        func slice() -> UnsafeRawBufferPointer? {
            guard let length = Varint.read(payload, at: &offset), length <= UInt64(payload.count - offset) else { return nil }
            let start = offset
            offset += Int(length)
            return UnsafeRawBufferPointer(rebasing: payload[start..<offset])
        }
        while offset < payload.count {
            let code = payload[offset]
            offset += 1
            guard let tree = slice(), !tree.isEmpty else { return false }
            switch code {
            case createCode: try body(Fields(kind: .createTree, tree: tree, key: empty, value: empty))
            case dropCode: try body(Fields(kind: .dropTree, tree: tree, key: empty, value: empty))
            case putCode, insertCode, rangeCode:
                guard let key = slice(), let value = slice() else { return false }
                let kind: Kind = code == putCode ? .put : code == insertCode ? .insert : .deleteRange
                try body(Fields(kind: kind, tree: tree, key: key, value: value))
            case deleteCode:
                guard let key = slice() else { return false }
                try body(Fields(kind: .delete, tree: tree, key: key, value: empty))
            default:
                return false
            }
        }
        return true
    }

    /// True when `payload` decodes: every opcode known, every length within it, every tree name
    /// valid UTF-8 of at least one byte. Names already found valid (in earlier records too) are in
    /// `knownNames`: a log names few trees, over and over, and each is validated once.
    static func isWellFormed(_ payload: UnsafeRawBufferPointer, knownNames: inout ValidNames) -> Bool {
        var namesValid = true
        let structured = forEach(payload) { fields in
            guard namesValid, !knownNames.contains(fields.tree) else { return }
            if ValidNames.isValid(fields.tree) { knownNames.insert(fields.tree) } else { namesValid = false }
        }
        return structured && namesValid
    }

    /// A few tree names found to be valid UTF-8.
    struct ValidNames {
        /// Beyond this many, a new name replaces the oldest.
        static let capacity = 16
        private var names: [Bytes] = []
        private var next = 0

        /// Whether `name` is valid UTF-8 of at least one byte.
        static func isValid(_ name: UnsafeRawBufferPointer) -> Bool {
            // ASCII (every name the chat store uses) is valid UTF-8 without building a String.
            !name.isEmpty && (name.allSatisfy { $0 < 0x80 } || String(validating: name, as: UTF8.self) != nil)
        }

        func contains(_ name: UnsafeRawBufferPointer) -> Bool {
            for known in names where known.count == name.count && compareBytes(known, name) == 0 { return true }
            return false
        }

        mutating func insert(_ name: UnsafeRawBufferPointer) {
            if names.count < Self.capacity {
                names.append(Bytes(name))
            } else {
                names[next] = Bytes(name)
                next = (next + 1) % Self.capacity
            }
        }
    }
}
