// The whole store read out for comparison with the model.

import Foundation
import XCTest
@testable import Parley

// MARK: - Whole-store comparison

/// Which names, ids and keys a dump reads.
struct ChatDumpKeys {
    var handles: [String] = []
    /// Users whose whole inbox is read (the expensive part).
    var inboxHandles: [String] = []
    var conversations: [ConversationID] = []
    /// Conversations also read newest first.
    var backward: Set<ConversationID> = []
    var markerPairs: [(user: String, conversation: ConversationID)] = []
    var externals: [(platform: String, externalID: String)] = []
    var stateKeys: [StateKey] = []
    var messageIDs: [MessageID] = []
    /// Also the totals of `stats()`, every user and every status index (a full comparison);
    /// without them, only the cheap counters.
    var lists = true
}

/// Everything a set of keys can observe of the store, for comparing whole states.
struct ChatDump: Equatable, ChatModelHandles {
    var stats: ChatModelStats?
    /// Users, conversations, messages and tokens as counted without `stats()`.
    var counts: [Int]
    var nextMessageID: UInt64
    var users: [User] = []
    var byStatus: [[ConversationID]] = []
    var conversations: [Conversation?] = []
    var messages: [[Message]?] = []
    var messagesBackward: [[Message]?] = []
    var markers: [MessagePosition?] = []
    var externals: [ConversationID?] = []
    var inboxes: [[InboxEntry]?] = []
    var unread: [Int?] = []
    var states: [StateValue?] = []
    var lookups: [Message?] = []

    /// Reads `keys` from the store.
    init(reader r: ChatReader, keys: ChatDumpKeys) throws {
        let counters = try r.counters()
        counts = [try r.userCount(), try r.conversationCount(), Int(counters.messages), Int(counters.tokens)]
        nextMessageID = counters.nextMessageID
        if keys.lists {
            stats = ChatModelStats(try r.stats())
            users = try r.users(after: nil, limit: 1 << 30)
            byStatus = try ConversationStatus.allCases.map { try r.conversations(status: $0, limit: 1 << 30).map(\.id) }
        }
        for id in keys.conversations {
            let conversation = try r.conversation(id)
            conversations.append(conversation)
            if conversation != nil {
                messages.append(try r.messages(in: id, MessageQuery(order: .oldestFirst)))
                messagesBackward.append(
                    keys.backward.contains(id) ? Array(try r.messages(in: id, MessageQuery(order: .newestFirst)).reversed()) : nil)
            } else {
                messages.append(nil)
                messagesBackward.append(nil)
            }
        }
        markers = try keys.markerPairs.map { try r.readMarker(user: $0.user, conversation: $0.conversation) }
        externals = try keys.externals.map { try r.conversation(platform: $0.platform, externalID: $0.externalID)?.id }
        for handle in keys.handles {
            unread.append(try r.user(handle) != nil ? try r.unreadCount(user: handle) : nil)
        }
        for handle in keys.inboxHandles {
            inboxes.append(try r.user(handle) != nil ? try r.inbox(of: handle, InboxQuery(limit: 1 << 30)) : nil)
        }
        states = try keys.stateKeys.map { try r.state($0) }
        lookups = try keys.messageIDs.map { try r.message($0) }
    }

    /// What the model says `keys` read.
    init(model m: ChatModel, keys: ChatDumpKeys, now: Timestamp) throws {
        let totals = m.stats(now: now)
        counts = [totals.users, totals.conversations, totals.messages, totals.tokens]
        nextMessageID = m.nextMessageID
        if keys.lists {
            stats = totals
            users = try m.users(after: nil, limit: 1 << 30)
            byStatus = try ConversationStatus.allCases.map {
                try m.conversations(status: $0, lastActiveBefore: nil, limit: 1 << 30).map(\.id)
            }
        }
        for id in keys.conversations {
            conversations.append(m.conversation(id))
            messages.append(m.threads[id]?.messages)
            messagesBackward.append(keys.backward.contains(id) ? m.threads[id]?.messages : nil)
        }
        markers = keys.markerPairs.map { m.readMarker(user: $0.user, conversation: $0.conversation) }
        externals = keys.externals.map { m.conversation(platform: $0.platform, externalID: $0.externalID)?.id }
        for handle in keys.handles {
            unread.append(m.hasUser(handle) ? try m.unreadCount(user: handle) : nil)
        }
        for handle in keys.inboxHandles {
            inboxes.append(m.hasUser(handle) ? try m.inbox(of: handle, InboxQuery(limit: 1 << 30)) : nil)
        }
        states = keys.stateKeys.map { m.state($0, now: now) }
        lookups = keys.messageIDs.map { m.message($0) }
    }

    var handleBytes: [[UInt8]] {
        users.handleBytes + conversations.handleBytes + messages.map { $0.handleBytes }.flatMap { $0 }
            + messagesBackward.map { $0.handleBytes }.flatMap { $0 } + inboxes.map { $0.handleBytes }.flatMap { $0 }
            + lookups.handleBytes
    }

    /// Equal, and naming the same users byte for byte.
    func matches(_ other: ChatDump) -> Bool { self == other && handleBytes == other.handleBytes }

    /// The first few differences from `expected`, named by their keys.
    func differences(from expected: ChatDump, keys: ChatDumpKeys) -> String {
        var out: [String] = []
        func note<T: Equatable>(_ name: String, _ found: [T], _ wanted: [T], _ label: (Int) -> String) {
            guard found != wanted, out.count < 6 else { return }
            if found.count != wanted.count {
                out.append("\(name): \(found.count) entries, expected \(wanted.count)")
            }
            for index in 0..<min(found.count, wanted.count) where found[index] != wanted[index] {
                out.append("\(name)[\(label(index))]:\n" + chatModelContrast(found[index], wanted[index]))
                if out.count >= 6 { return }
            }
        }
        if stats != expected.stats { out.append("stats: \(stats.map { "\($0)" } ?? "-")\n  expected \(expected.stats.map { "\($0)" } ?? "-")") }
        if counts != expected.counts { out.append("users, conversations, messages, tokens: \(counts), expected \(expected.counts)") }
        if nextMessageID != expected.nextMessageID {
            out.append("next message id: \(nextMessageID), expected \(expected.nextMessageID)")
        }
        note("users", users, expected.users) { "\($0)" }
        note("status index", byStatus, expected.byStatus) { "\(ConversationStatus.allCases[$0])" }
        note("conversation", conversations, expected.conversations) { "\(keys.conversations[$0])" }
        note("messages", messages, expected.messages) { "\(keys.conversations[$0])" }
        note("messages newest first, reversed", messagesBackward, expected.messagesBackward) { "\(keys.conversations[$0])" }
        note("read marker", markers, expected.markers) { "\(keys.markerPairs[$0])" }
        note("external id", externals, expected.externals) { "\(keys.externals[$0])" }
        note("inbox", inboxes, expected.inboxes) { keys.inboxHandles[$0] }
        note("unread count", unread, expected.unread) { keys.handles[$0] }
        note("state", states, expected.states) { "\(keys.stateKeys[$0])" }
        note("message lookup", lookups, expected.lookups) { "\(keys.messageIDs[$0])" }
        // Equal as strings: which entry names a user by other bytes.
        func noteHandles<T: ChatModelHandles>(_ name: String, _ found: [T], _ wanted: [T], _ label: (Int) -> String) {
            guard out.isEmpty else { return }
            for index in 0..<min(found.count, wanted.count) where found[index].handleBytes != wanted[index].handleBytes {
                out.append("\(name)[\(label(index))]:\n" + chatModelHandleContrast(found[index], wanted[index]))
                return
            }
        }
        noteHandles("users", users, expected.users) { "\($0)" }
        noteHandles("conversation", conversations, expected.conversations) { "\(keys.conversations[$0])" }
        noteHandles("messages", messages, expected.messages) { "\(keys.conversations[$0])" }
        noteHandles("messages newest first, reversed", messagesBackward, expected.messagesBackward) { "\(keys.conversations[$0])" }
        noteHandles("inbox", inboxes, expected.inboxes) { keys.inboxHandles[$0] }
        noteHandles("message lookup", lookups, expected.lookups) { "\(keys.messageIDs[$0])" }
        return out.isEmpty ? "no difference" : out.joined(separator: "\n")
    }
}

/// Where two values first differ: follows the first differing field or element down (by
/// reflection) and prints both there, with the path that led to it.
func chatModelContrast(_ found: Any, _ expected: Any, path: String = "") -> String {
    func same(_ a: Any, _ b: Any) -> Bool {
        if let a = a as? AnyHashable, let b = b as? AnyHashable { return a == b }
        return String(describing: a) == String(describing: b)
    }
    func text(_ value: Any) -> String {
        let description = String(describing: value)
        return description.count > 1500 ? String(description.prefix(1500)) + "…" : description
    }
    let a = Mirror(reflecting: found)
    let b = Mirror(reflecting: expected)
    let walkable: Set<String> = ["struct", "class", "tuple", "enum", "optional", "collection"]
    let styleA = a.displayStyle.map { "\($0)" } ?? "leaf"
    let styleB = b.displayStyle.map { "\($0)" } ?? "leaf"
    if styleA == styleB, walkable.contains(styleA), !a.children.isEmpty, a.children.count == b.children.count,
        type(of: found) == type(of: expected)
    {
        for (index, (x, y)) in zip(a.children, b.children).enumerated() where !same(x.value, y.value) {
            if styleA == "enum" && x.label != y.label { break }
            let step = styleA == "collection" ? "[\(index)]" : "." + (x.label ?? "\(index)")
            return chatModelContrast(x.value, y.value, path: path + step)
        }
    }
    var counts = ""
    if styleA == "collection" && styleB == "collection" { counts = " (\(a.children.count) vs \(b.children.count) elements)" }
    return "  at \(path.isEmpty ? "top" : path)\(counts):\n  found:    \(text(found))\n  expected: \(text(expected))"
}
