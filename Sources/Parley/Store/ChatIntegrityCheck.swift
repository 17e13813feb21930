// The chat store's integrity check: every record decodes, every block verifies, and every index
// agrees with what it indexes, in both directions. It reports every problem it finds rather than
// stopping at the first, so an operator sees the whole damage.

/// What ``Database/checkIntegrity(progress:)`` found.
public struct IntegrityResult: Sendable {
    /// One line per problem; empty when the database is sound.
    public var problems: [String]
    public var conversations: Int
    public var messages: Int
    public var blocks: Int
    /// Pages the storage walk visited.
    public var pages: Int
    public var isSound: Bool { problems.isEmpty }
}

extension Database {
    /// Checks the whole database: the storage engine's pages and trees, then every conversation's
    /// blocks and pending messages, and the agreement of every index (ids, inboxes, statuses,
    /// external ids, participants, read markers, system messages, state expiry, counters) with the
    /// records. `progress` is called with (conversations checked, total).
    public func checkIntegrity(progress: ((Int, Int) -> Void)? = nil) throws -> IntegrityResult {
        var result = IntegrityResult(problems: [], conversations: 0, messages: 0, blocks: 0, pages: 0)
        do {
            let report = try storage { try engine.checkIntegrity() }
            result.problems += report.problems.map { "storage: \($0)" }
            result.pages = Int(clamping: report.treePages)
        } catch {
            result.problems.append("storage: \(error)")
        }
        try read { reader in
            try ChatChecker(reader: reader, progress: progress).run(into: &result)
        }
        return result
    }
}

/// Walks one snapshot of the chat store.
private struct ChatChecker {
    let reader: ChatReader
    let progress: ((Int, Int) -> Void)?

    private var view: any KeyValueView { reader.view }
    /// Read from the file for this check alone, not from the store's cache.
    private var dictionaries: StoreBlockDictionaries { StoreBlockDictionaries(view: view, cache: BlockDictionaryCache()) }

    func run(into result: inout IntegrityResult) throws {
        var problems: [String] = []
        func note(_ problem: String) { problems.append(problem) }
        func attempt(_ what: String, _ body: () throws -> Void) {
            do { try body() } catch { note("\(what): \(error)") }
        }

        var expectedInbox = Set<[UInt8]>()
        var expectedStatus = Set<[UInt8]>()
        var expectedExternal: [[UInt8]: [UInt8]] = [:]
        var expectedLocators: [[UInt8]: [UInt8]] = [:]
        var expectedSystem = Set<[UInt8]>()
        var totalMessages: Int64 = 0
        var totalTokens: Int64 = 0
        var rawBytes: Int64 = 0
        var storedBytes: Int64 = 0
        var maxID: UInt64 = 0

        // A store whose trees were dropped may hold nothing the walks below would read (no
        // conversation, so no pending message), yet fail at its next checkpoint.
        for tree in Tree.all {
            attempt(tree) {
                if try !storage({ try view.treeExists(tree) }) { note("the tree \(tree) is missing") }
            }
        }

        let dictionaries = self.dictionaries
        let conversationEntries = try storage { try view.entries(Tree.conversations, from: [], to: nil) }
        for (index, entry) in conversationEntries.enumerated() {
            progress?(index, conversationEntries.count)
            guard let id = ConversationID(bytes: entry.key) else {
                note("a conversation key is not 16 bytes")
                continue
            }
            attempt("conversation \(id)") {
                let record = try ConversationRecord(decoding: entry.value, id: id)
                // The record's decoder already refuses an empty or unordered participant list.
                let participants = record.participantHandles
                for handle in participants {
                    if try reader.user(handle) == nil { note("conversation \(id): participant \"\(handle)\" is not a user") }
                    expectedInbox.insert(Key.inbox(handle, record.lastActivity, id))
                }
                expectedStatus.insert(Key.status(record.status, record.lastActivity, id))
                if let platform = record.platform, let externalID = record.externalID {
                    expectedExternal[Key.external(platform: platform, externalID: externalID)] = id.bytes
                }

                // Messages: blocks in order and without overlap, pending messages, and the totals.
                var count: Int64 = 0
                var tokens: Int64 = 0
                var newest: MessagePosition?
                var previousLast: MessagePosition?
                var positions: [MessagePosition] = []
                for (key, value) in try storage({ try view.entries(Tree.blocks, prefix: id.bytes) }) {
                    let header = try BlockHeader(decoding: value, conversation: id)
                    if Key.position(inMessageKey: key) != header.first { note("conversation \(id): a block's key is not its first message") }
                    if let previousLast, header.first <= previousLast { note("conversation \(id): blocks overlap") }
                    previousLast = header.last
                    guard let body = try storage({ try view.get(Tree.blockData, key) }) else {
                        note("conversation \(id): a block body is missing")
                        continue
                    }
                    let messages = try BlockCodec.decode(header: header, body: body, conversation: id, dictionaries: dictionaries)
                    result.blocks += 1
                    rawBytes += Int64(header.rawLength)
                    storedBytes += Int64(header.storedLength)
                    for message in messages { positions.append(message.position) }
                    count += Int64(messages.count)
                    tokens += messages.reduce(0) { $0 + Int64($1.tokens) }
                    for message in messages where message.role == .system { expectedSystem.insert(Key.message(id, message.position)) }
                    newest = max(newest ?? header.last, header.last)
                }
                for (key, value) in try storage({ try view.entries(Tree.pending, prefix: id.bytes) }) {
                    guard let position = Key.position(inMessageKey: key) else {
                        note("conversation \(id): a pending key is not 32 bytes")
                        continue
                    }
                    let message = try MessageCodec.decodePending(value, conversation: id, position: position)
                    positions.append(position)
                    count += 1
                    tokens += Int64(message.tokens)
                    rawBytes += Int64(value.count)
                    storedBytes += Int64(value.count)
                    if message.role == .system { expectedSystem.insert(key) }
                    newest = max(newest ?? position, position)
                }
                for position in positions {
                    var located = id.bytes
                    Key.appendBE(orderedBits(position.createdAt), to: &located)
                    if expectedLocators.updateValue(located, forKey: Key.locator(position.id)) != nil {
                        note("message id \(position.id) is used twice")
                    }
                    maxID = max(maxID, position.id.rawValue)
                }
                if count != record.messageCount { note("conversation \(id): \(count) messages stored, record says \(record.messageCount)") }
                if tokens != record.tokenTotal { note("conversation \(id): \(tokens) tokens stored, record says \(record.tokenTotal)") }
                if newest != record.lastPosition {
                    note("conversation \(id): the record's newest position is not its newest message's")
                } else if let newest, try record.newestMessage(id) != reader.message(at: newest, in: id) {
                    note("conversation \(id): the record's copy of the newest message differs from the message")
                }
                if let newest, newest > (record.highWater ?? newest) || record.highWater == nil {
                    note("conversation \(id): a message is above the record's high-water position")
                }
                if let newest, newest.createdAt > record.lastActivity {
                    note("conversation \(id): a message is newer than its last activity")
                }
                totalMessages += count
                totalTokens += tokens
                result.messages += Int(count)

                // Read markers: each participant's count of messages at or before their marker.
                positions.sort()
                for member in record.members {
                    guard let marker = member.marker else { continue }
                    let handle = member.handle
                    var low = 0
                    var high = positions.count
                    while low < high {
                        let middle = (low + high) / 2
                        if positions[middle] <= marker.position { low = middle + 1 } else { high = middle }
                    }
                    if Int64(low) != marker.readCount {
                        note("conversation \(id): \(handle)'s read marker counts \(marker.readCount) read, \(low) are at or before it")
                    }
                }
            }
            result.conversations += 1
        }
        progress?(conversationEntries.count, conversationEntries.count)

        // Each index holds exactly what the records imply.
        func compareKeys(_ tree: String, _ expected: Set<[UInt8]>, _ what: String) {
            attempt(tree) {
                var seen = 0
                for entry in try storage({ try view.entries(tree, from: [], to: nil) }) {
                    seen += 1
                    if !expected.contains(entry.key) { note("\(tree): an entry for no \(what)") }
                }
                if seen != expected.count { note("\(tree): \(seen) entries, \(expected.count) expected") }
            }
        }
        func compareMap(_ tree: String, _ expected: [[UInt8]: [UInt8]], _ what: String) {
            attempt(tree) {
                var seen = 0
                for entry in try storage({ try view.entries(tree, from: [], to: nil) }) {
                    seen += 1
                    if expected[entry.key] != entry.value { note("\(tree): an entry that does not match its \(what)") }
                }
                if seen != expected.count { note("\(tree): \(seen) entries, \(expected.count) expected") }
            }
        }
        compareKeys(Tree.inbox, expectedInbox, "participant at that last activity")
        compareKeys(Tree.status, expectedStatus, "conversation with that status and last activity")
        compareKeys(Tree.system, expectedSystem, "system message")
        compareMap(Tree.external, expectedExternal, "conversation")
        compareMap(Tree.locator, expectedLocators, "message")
        // Every dictionary, used or not, decodes and matches its checksum.
        attempt(Tree.dictionaries) {
            for entry in try storage({ try view.entries(Tree.dictionaries, from: [], to: nil) }) {
                guard let id = Key.dictionaryID(entry.key) else {
                    note("\(Tree.dictionaries): a key is not 4 bytes")
                    continue
                }
                do { _ = try BlockDictionary(decoding: entry.value, id: id) } catch { note("\(Tree.dictionaries): \(error)") }
            }
        }

        // State: every value has its expiry entry and the other way round.
        attempt(Tree.state) {
            var expectedExpiry = Set<[UInt8]>()
            for entry in try storage({ try view.entries(Tree.state, from: [], to: nil) }) {
                let value = try StateCodec.decode(entry.value)
                expectedExpiry.insert(Key.expiry(value.expiresAt, entry.key))
                if entry.key.first == 0 {
                    guard entry.key.count == 17, let id = ConversationID(bytes: Array(entry.key[1...])) else {
                        note("\(Tree.state): a conversation key is not 17 bytes")
                        continue
                    }
                    if try reader.record(id) == nil { note("\(Tree.state): state of missing conversation \(id)") }
                }
            }
            compareKeys(Tree.expiry, expectedExpiry, "state value")
        }

        // Every user record decodes, participants or not.
        attempt(Tree.users) {
            for entry in try storage({ try view.entries(Tree.users, from: [], to: nil) }) {
                guard let handle = String(validating: entry.key, as: UTF8.self) else {
                    note("\(Tree.users): a handle is not UTF-8")
                    continue
                }
                do { _ = try UserCodec.decode(handle: handle, entry.value) } catch { note("\(Tree.users): user \"\(handle)\": \(error)") }
            }
        }

        attempt(Tree.meta) {
            let counters = try reader.counters()
            if counters.messages != totalMessages { note("counters: \(counters.messages) messages, \(totalMessages) stored") }
            if counters.tokens != totalTokens { note("counters: \(counters.tokens) tokens, \(totalTokens) stored") }
            if counters.rawBytes != rawBytes { note("counters: \(counters.rawBytes) raw bytes, \(rawBytes) stored") }
            if counters.storedBytes != storedBytes { note("counters: \(counters.storedBytes) stored bytes, \(storedBytes) found") }
            if counters.nextMessageID <= maxID { note("counters: next message id \(counters.nextMessageID) is not above \(maxID)") }
        }
        result.problems += problems
    }
}
