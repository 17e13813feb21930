// The chat store's trees and the layout of their keys. Every key is built so that the engine's
// byte order is the order a query walks: big-endian integers, timestamps with the sign bit flipped,
// handles length-prefixed so that one user's keys never run into another's.
//
// | tree                | key                                              | value                       |
// |---------------------|--------------------------------------------------|-----------------------------|
// | chat.meta           | "version", "counters"                            | varint / `Counters`         |
// | chat.users          | handle                                           | `UserRecord`                |
// | chat.conversations  | conversation                                     | `ConversationRecord` (with  |
// |                     |                                                  | participants and markers)   |
// | chat.external       | varint len, platform, external id                | conversation                |
// | chat.status         | status, last activity, conversation              | empty                       |
// | chat.inbox          | handle16, ~last activity, conversation           | empty                       |
// | chat.pending        | conversation, created_at, id                     | one message (`MessageCodec`)|
// | chat.blocks         | conversation, first created_at, first id         | `BlockHeader`               |
// | chat.blockdata      | same as chat.blocks                              | block body                  |
// | chat.locator        | id                                               | conversation, created_at    |
// | chat.system         | conversation, created_at, id                     | empty                       |
// | chat.state          | kind, key                                        | expires_at, value           |
// | chat.expiry         | expires_at, kind, key                            | empty                       |
// | chat.dictionaries   | id (u32 big-endian)                              | `BlockDictionary`           |
//
// handle16 = 2-byte big-endian length, then the handle's UTF-8.

import Glibc

enum Tree {
    static let meta = "chat.meta"
    static let users = "chat.users"
    static let conversations = "chat.conversations"
    static let external = "chat.external"
    static let status = "chat.status"
    static let inbox = "chat.inbox"
    static let pending = "chat.pending"
    static let blocks = "chat.blocks"
    static let blockData = "chat.blockdata"
    static let locator = "chat.locator"
    static let system = "chat.system"
    static let state = "chat.state"
    static let expiry = "chat.expiry"
    static let dictionaries = "chat.dictionaries"

    static let all = [
        meta, users, conversations, external, status, inbox, pending, blocks, blockData,
        locator, system, state, expiry, dictionaries,
    ]
}

enum Key {
    static let version: [UInt8] = Array("version".utf8)
    static let counters: [UInt8] = Array("counters".utf8)

    static func handle(_ handle: String) -> [UInt8] { Array(handle.utf8) }

    static func dictionary(_ id: UInt32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: id >> 24), UInt8(truncatingIfNeeded: id >> 16), UInt8(truncatingIfNeeded: id >> 8), UInt8(truncatingIfNeeded: id)]
    }

    static func dictionaryID(_ key: [UInt8]) -> UInt32? {
        guard key.count == 4 else { return nil }
        return key.reduce(0) { $0 << 8 | UInt32($1) }
    }

    static func handle16(_ handle: String, into out: inout [UInt8]) {
        let count = handle.utf8.count
        out.append(UInt8(truncatingIfNeeded: count >> 8))
        out.append(UInt8(truncatingIfNeeded: count))
        out.append(contentsOf: handle.utf8)
    }

    static func appendBE(_ value: UInt64, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) }
    }

    static func readBE(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// conversation ‖ created_at ‖ id: pending messages, blocks, system messages.
    static func message(_ conversation: ConversationID, _ position: MessagePosition) -> [UInt8] {
        var out = conversation.bytes
        out.reserveCapacity(32)
        appendBE(orderedBits(position.createdAt), to: &out)
        appendBE(position.id.rawValue, to: &out)
        return out
    }

    /// The position in a `message` key; nil when the key is not 32 bytes.
    static func position(inMessageKey key: [UInt8]) -> MessagePosition? {
        guard key.count == 32 else { return nil }
        let bits = readBE(key[16..<24])
        let id = readBE(key[24..<32])
        return MessagePosition(createdAt: timestamp(fromOrderedBits: bits), id: MessageID(rawValue: id))
    }

    /// The smallest key above every key of `conversation` in a conversation-prefixed tree.
    static func conversationEnd(_ conversation: ConversationID) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(33)
        out.append(contentsOf: conversation.bytes)
        out.append(contentsOf: repeatElement(0xFF, count: 17))
        return out
    }

    static func external(platform: String, externalID: String) -> [UInt8] {
        var writer = ByteWriter()
        writer.string(platform)
        writer.bytes.append(contentsOf: externalID.utf8)
        return writer.bytes
    }

    static func status(_ status: ConversationStatus, _ lastActivity: Timestamp, _ conversation: ConversationID) -> [UInt8] {
        // Keys are built in an array sized for them at once: an append makes a dozen keys, and
        // each growth of an array is an allocation and a copy.
        var out: [UInt8] = []
        out.reserveCapacity(25)
        out.append(status.code)
        appendBE(orderedBits(lastActivity), to: &out)
        out.append(contentsOf: conversation.bytes)
        return out
    }

    /// Sized for the whole inbox key (`inbox` appends to it).
    static func inboxPrefix(_ handle: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(2 + handle.utf8.count + 24)
        handle16(handle, into: &out)
        return out
    }

    /// Newest activity first under a forward walk.
    static func inbox(_ handle: String, _ lastActivity: Timestamp, _ conversation: ConversationID) -> [UInt8] {
        var out = inboxPrefix(handle)
        appendBE(~orderedBits(lastActivity), to: &out)
        out.append(contentsOf: conversation.bytes)
        return out
    }

    static func locator(_ id: MessageID) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(8)
        appendBE(id.rawValue, to: &out)
        return out
    }

    static func state(_ key: StateKey) -> [UInt8] {
        switch key {
        case .conversation(let id): return [0] + id.bytes
        case .custom(let name): return [1] + Array(name.utf8)
        }
    }

    static func expiry(_ expiresAt: Timestamp, _ stateKey: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        appendBE(orderedBits(expiresAt), to: &out)
        return out + stateKey
    }

    /// The key just after every key that starts with `prefix` (prefix + 0xFF... is not enough for
    /// arbitrary suffixes, so this increments the prefix).
    static func prefixEnd(_ prefix: [UInt8]) -> [UInt8]? {
        var out = prefix
        while let last = out.last {
            if last < 0xFF {
                out[out.count - 1] = last + 1
                return out
            }
            out.removeLast()
        }
        return nil
    }
}

extension Array where Element == UInt8 {
    /// Whether the array starts with `prefix`. One `memcmp`: the generic `elementsEqual` over a
    /// slice took a fifth of a microsecond per call, and a message walk asks once per message.
    func hasPrefix(_ prefix: [UInt8]) -> Bool {
        guard count >= prefix.count else { return false }
        guard !prefix.isEmpty else { return true }
        return withUnsafeBytes { bytes in
            prefix.withUnsafeBytes { prefixBytes in
                // Both non-empty here, so both base addresses exist.
                guard let base = bytes.baseAddress, let start = prefixBytes.baseAddress else { return false }
                return memcmp(base, start, prefixBytes.count) == 0
            }
        }
    }
}
