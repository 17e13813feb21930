// One randomized run of the chat store against the model: setup, failures, and drawing values.

import Foundation
import XCTest
@testable import Parley

// MARK: - The run

final class ChatModelRun {
    enum Backend {
        case simulated
        case files(String)
    }

    let seed: UInt64
    let backend: Backend
    let operations: Int
    var rng: ChatModelRNG
    let clock = ChatModelClock(start: 1_700_000_000_000_000)
    var model = ChatModel()
    var database: Database!
    var disk = SimulatedDisk()
    let path: String

    var step = 0
    var history: [String] = []
    var tally: [String: Int] = [:]

    /// The handles the run draws from (about 200), in a fixed order: dictionaries iterate in a
    /// different order in every process, so nothing random may be drawn from one.
    let handles: [String]
    let canonicalGroups: [[String]]
    var createdCache: [String] = []
    /// Every conversation id the store returned, in order (deleted ones stay).
    var conversationIDs: [ConversationID] = []
    var knownIDs: Set<ConversationID> = []
    var liveCache: [ConversationID] = []
    var liveCacheStep = -1_000
    var externalPairs: [(platform: String, externalID: String)] = []
    var externalCounter = 0
    let customKeys: [String]
    var stateKeys: [StateKey] = []
    var stateKeySet: Set<StateKey> = []
    var ghostCounter = 0

    init(seed: UInt64, backend: Backend, operations: Int) {
        self.seed = seed
        self.backend = backend
        self.operations = operations
        rng = ChatModelRNG(seed: seed)
        switch backend {
        case .simulated: path = "/chat.parley"
        case .files(let file): path = file
        }
        let prefixes = ["u", "bot", "Agent", "ägent", "zoë", "李", "🤖", "x", "User", "ü"]
        var names = (0..<198).map { "\(prefixes[$0 % prefixes.count])-\($0)" }
        names.append(String(repeating: "h", count: Limits.maximumNameBytes))
        names.append("a")
        // Canonically equivalent spellings: equal as Swift strings, different users in the store.
        canonicalGroups = [["\u{E9}mile", "e\u{301}mile"], ["\u{C5}sa", "A\u{30A}sa", "\u{212B}sa"]]
        names += canonicalGroups.flatMap { $0 }
        handles = names
        customKeys = (0..<40).map { "session/\($0)" } + ["k", String(repeating: "s", count: Limits.maximumStateKeyBytes)]
    }

    var simulated: Bool {
        if case .simulated = backend { return true }
        return false
    }

    var now: Timestamp { clock.now }

    // MARK: Opening

    func makeOptions() -> Database.Options {
        var options = Database.Options()
        options.engine.logPreallocation = 64 << 10
        options.engine.logGrowthStep = 64 << 10
        options.engine.syncInterval = 0.01
        // Block dictionaries from the first checkpoint with some text, rebuilt as the store grows.
        options.dictionaryMinimumSample = 512
        switch backend {
        // 4 KiB pages: smaller ones cannot hold the longest keys the documented limits allow
        // (255-byte names, 512-byte state keys).
        case .simulated:
            options.engine.storage = EngineOptions(pageSize: 4096, growthStep: 64 << 10)
            options.engine.durability = .full
            options.engine.backgroundWork = false
            options.fileSystem = SimulatedFileSystem(disk: disk)
        case .files:
            options.engine.storage = EngineOptions(pageSize: 4096, growthStep: 256 << 10)
            options.engine.durability = rng.pick([.normal, .async, .normal])!
            options.engine.backgroundWork = true
        }
        options.blockTargetBytes = rng.pick([1024, 1024, 1536, 2048])!
        options.sealDeferralBytes = rng.pick([0, 256, 4096, 1 << 20])!
        let clock = self.clock
        options.clock = { clock.now }
        return options
    }

    func open() throws {
        database = try Database.open(path: path, options: makeOptions())
    }

    // MARK: Failing

    func failure(_ message: String) -> ChatModelFailure {
        ChatModelFailure(
            description: "seed \(seed), step \(step) of \(operations): \(message)\nlast operations:\n  "
                + history.suffix(25).joined(separator: "\n  "))
    }

    func record(_ line: String) {
        history.append("#\(step) \(line)")
        if history.count > 100 { history.removeFirst(50) }
    }

    func tallyUp(_ key: String) { tally[key, default: 0] += 1 }

    /// Calls of the chat API made and compared.
    var writes = 0
    var queries = 0

    /// Seconds spent per kind of work, printed at the end.
    var timings: [String: Double] = [:]

    func timed<R>(_ key: String, _ body: () throws -> R) rethrows -> R {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { timings[key, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        return try body()
    }

    func errorName(_ error: Error) -> String {
        guard let error = error as? ParleyError else { return "\(type(of: error))" }
        switch error {
        case .unknownConversation: return "unknownConversation"
        case .unknownUser: return "unknownUser"
        case .unknownMessage: return "unknownMessage"
        case .notAParticipant: return "notAParticipant"
        case .noParticipants: return "noParticipants"
        case .duplicateExternalID: return "duplicateExternalID"
        case .negativeTTL: return "negativeTTL"
        case .conversationClosed: return "conversationClosed"
        case .invalidArgument: return "invalidArgument"
        case .storage: return "storage"
        default: return "\(error)"
        }
    }

    /// Same error, `invalidArgument`'s wording aside.
    func sameError(_ found: Error, _ expected: Error) -> Bool {
        guard let found = found as? ParleyError, let expected = expected as? ParleyError else { return false }
        if case .invalidArgument = found, case .invalidArgument = expected { return true }
        return found == expected
    }

    func show<T>(_ result: Result<T, Error>) -> String {
        switch result {
        case .success(let value): return "\(value)"
        case .failure(let error): return "error \(error)"
        }
    }

    // MARK: Names and ids to draw from

    var createdHandles: [String] {
        if createdCache.count != model.users.count {
            createdCache = handles.filter { model.hasUser($0) }
        }
        return createdCache
    }

    func uncreatedHandles() -> [String] { handles.filter { !model.hasUser($0) } }

    func ghost() -> String {
        ghostCounter += 1
        return "ghost-\(ghostCounter % 7)"
    }

    /// A handle that names no user, or none at all.
    func strangeHandle() -> String {
        switch rng.int(0..<4) {
        case 0: return ""
        case 1: return rng.pick(uncreatedHandles()) ?? ghost()
        default: return ghost()
        }
    }

    func liveConversations() -> [ConversationID] {
        if step - liveCacheStep > 25 {
            liveCache = conversationIDs.filter { model.threads[$0] != nil }
            liveCacheStep = step
        }
        return liveCache
    }

    func invalidateLive() { liveCacheStep = -1_000 }

    func learn(_ outcome: ChatModelOutcome) {
        guard case .conversation(let id) = outcome, !knownIDs.contains(id) else { return }
        knownIDs.insert(id)
        conversationIDs.append(id)
        invalidateLive()
    }

    func strangeConversation() -> ConversationID {
        if rng.chance(0.5), let deleted = rng.pick(conversationIDs.filter { model.threads[$0] == nil }) { return deleted }
        var bytes = (0..<16).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return ConversationID(bytes: bytes)!
    }

    /// Mostly a live conversation; sometimes a deleted or unknown one.
    func someConversation() -> ConversationID {
        if rng.chance(0.95), let id = rng.pick(liveConversations()), model.threads[id] != nil { return id }
        return strangeConversation()
    }

    func participants(_ id: ConversationID) -> [String] {
        model.participants(id)
    }

    func stateKey() -> StateKey {
        if rng.chance(0.7), let known = rng.pick(stateKeys) { return known }
        if rng.chance(0.5) { return .conversation(someConversation()) }
        return .custom(rng.pick(customKeys)!)
    }

    func noteStateKey(_ key: StateKey) {
        if stateKeySet.insert(key).inserted { stateKeys.append(key) }
    }

    // MARK: Random values

    func text(long: Bool = false) -> String {
        let pieces = ["a", "b", "c", "d", "e", " ", "the ", "hello ", "é", "ß", "中", "😀", "\n", "Ω", "42", "."]
        let length = long || rng.chance(0.03) ? rng.int(300...900) : rng.int(0...60)
        var out = ""
        for _ in 0..<length { out += pieces[rng.int(0..<pieces.count)] }
        return out
    }

    func metadata(depth: Int = 0) -> Metadata {
        switch rng.int(0..<(depth >= 2 ? 5 : 7)) {
        case 0: return .null
        case 1: return .bool(rng.chance(0.5))
        case 2: return .int(Int64(bitPattern: rng.next()) >> rng.int(0...63))
        case 3: return .double(Double(rng.int(-10_000...10_000)) / 8)
        case 4: return .string(String(text().prefix(12)))
        case 5: return .array((0..<rng.int(0...3)).map { _ in metadata(depth: depth + 1) })
        default:
            var fields: [String: Metadata] = [:]
            for index in 0..<rng.int(0...3) { fields["k\(index)"] = metadata(depth: depth + 1) }
            return .object(fields)
        }
    }

    func ttl() -> Double {
        switch rng.int(0..<100) {
        case 0..<4: return -Double(rng.int(1...100)) / 4
        case 4..<5: return rng.chance(0.5) ? .infinity : .nan
        case 5..<13: return 0
        case 13..<45: return Double(rng.int(1...2400)) / 4
        case 45..<85: return Double(rng.int(600...86_400))
        default: return Double(rng.int(86_400...7 * 86_400))
        }
    }

    func days(purge: Bool) -> Double {
        switch rng.int(0..<100) {
        case 0..<3: return -1
        case 3..<4: return .infinity
        case 4..<5: return purge ? 20 : 0
        case 5..<(purge ? 8 : 15): return Double(rng.int(1...300)) / 100
        case (purge ? 8 : 15)..<55: return Double(rng.int(1...15)) + (purge ? 10 : 0)
        default: return Double(rng.int(15...60))
        }
    }

    /// A message for `id`; `risk` scales the chance of a bad field.
    func newMessage(in id: ConversationID, risk: Double) -> NewMessage {
        let members = participants(id)
        let sender: String
        let roll = Double(rng.int(0..<10_000)) / 10_000
        if roll >= risk * 6, let member = rng.pick(members) {
            sender = member
        } else if roll >= risk * 2, let someone = rng.pick(createdHandles) {
            sender = someone
        } else {
            sender = strangeHandle()
        }
        let role: Role = rng.weighted([(45, .user), (35, .assistant), (7, .system), (13, .tool)])
        let status: MessageStatus = rng.weighted([(80, .complete), (12, .incomplete), (8, .failed)])
        var contentType = "text/plain"
        if rng.chance(0.1) { contentType = rng.pick(["text/markdown", "application/json"])! }
        if rng.chance(risk * 0.1) { contentType = "" }
        var tokens: Int?
        if rng.chance(0.4) { tokens = rng.int(0...300) }
        if rng.chance(risk * 0.2) { tokens = -1 }
        var attachments: [Attachment] = []
        if rng.chance(0.08) {
            for index in 0..<rng.int(1...3) {
                attachments.append(
                    Attachment(
                        uri: "s3://bucket/\(rng.int(0...99_999))", mimeType: rng.pick(["image/png", "audio/ogg"])!,
                        size: rng.int64(0...10_000_000), name: rng.chance(0.5) ? "file-\(index).bin" : nil))
            }
            if rng.chance(risk * 0.5) { attachments[0].size = -1 }
        }
        let current = now.microseconds
        var createdAt: Timestamp?
        switch rng.int(0..<100) {
        case 0..<55: createdAt = nil
        case 55..<63: createdAt = now
        case 63..<80: createdAt = Timestamp(microseconds: current - rng.int64(0...3 * 86_400_000_000))
        case 80..<90:
            // Exactly the time of a message already there: positions tie on created_at.
            let existing = model.threads[id]?.messages ?? []
            createdAt = rng.pick(existing)?.createdAt ?? now
        case 90..<96: createdAt = Timestamp(microseconds: current - rng.int64(0...2_000_000))
        default: createdAt = Timestamp(microseconds: current + rng.int64(1...3_600_000_000))
        }
        return NewMessage(
            sender: sender, role: role, text: text(), contentType: contentType, attachments: attachments, tokens: tokens,
            status: status, createdAt: createdAt, metadata: rng.chance(0.15) ? metadata() : nil)
    }

    // MARK: Planning writes

    func planWrite(inTransaction: Bool = false) -> ChatModelWrite {
        let users = createdHandles.count
        let live = liveConversations().count
        if users < 12 { return planUpsertUser(fresh: true) }
        if live < 6 && !inTransaction { return planCreateConversation(valid: true) }
        let kind: String = rng.weighted([
            (30, "append"), (9, "appendBatch"), (9, "markRead"), (users < 200 ? 4 : 1.5, "upsertUser"),
            (live < 300 ? 4 : 0.6, "createConversation"), (3, "addParticipant"), (2, "removeParticipant"),
            (2, "setStatus"), (1, "setTitle"), (1, "setMetadata"), (0.5, "deleteConversation"), (4, "setState"),
            (2, "touchState"), (1.5, "deleteState"), (0.3, "archive"), (0.15, "purge"),
            (inTransaction ? 0 : 0.5, "checkpoint"),
        ])
        switch kind {
        case "append": return planAppend(batch: false)
        case "appendBatch": return planAppend(batch: true)
        case "markRead": return planMarkRead()
        case "upsertUser": return planUpsertUser(fresh: false)
        case "createConversation": return planCreateConversation(valid: false)
        case "addParticipant": return planAddParticipant()
        case "removeParticipant": return planRemoveParticipant()
        case "setStatus": return planSetStatus()
        case "setTitle": return planSetTitle()
        case "setMetadata": return planSetMetadata()
        case "deleteConversation": return planDelete()
        case "setState": return planSetState()
        case "touchState": return planTouchState()
        case "deleteState": return planDeleteState()
        case "archive": return planArchive()
        case "purge": return planPurge()
        default: return planCheckpoint()
        }
    }

    func planAppend(batch: Bool) -> ChatModelWrite {
        let id = someConversation()
        let clock = self.clock
        if !batch {
            let message = newMessage(in: id, risk: 0.012)
            return ChatModelWrite(
                kind: "append",
                detail: "append from \(message.sender) role \(message.role) at \(message.createdAt.map { "\($0)" } ?? "now") to \(id)",
                conversation: id,
                viaWriter: { .messages([try $0.append(message, to: id)]) },
                viaDatabase: { .messages([try $0.append(message, to: id)]) },
                expect: { model, _ in .messages(try model.append([message], to: id, now: clock.now)) })
        }
        let count = rng.chance(0.03) ? 0 : rng.int(2...14)
        let messages = (0..<count).map { _ in newMessage(in: id, risk: 0.002) }
        return ChatModelWrite(
            kind: "appendBatch", detail: "append \(count) messages to \(id)", conversation: id,
            viaWriter: { .messages(try $0.append(contentsOf: messages, to: id)) },
            viaDatabase: { .messages(try $0.append(contentsOf: messages, to: id)) },
            expect: { model, _ in .messages(try model.append(messages, to: id, now: clock.now)) })
    }

    func planMarkRead() -> ChatModelWrite {
        let id = someConversation()
        let members = participants(id)
        let user: String
        switch rng.int(0..<100) {
        case 0..<86: user = rng.pick(members) ?? strangeHandle()
        case 86..<95: user = rng.pick(createdHandles) ?? strangeHandle()
        default: user = strangeHandle()
        }
        let messages = model.threads[id]?.messages ?? []
        let message: MessageID
        switch rng.int(0..<100) {
        case 0..<40: message = messages.last?.id ?? MessageID(rawValue: 1)
        case 40..<80: message = rng.pick(messages)?.id ?? MessageID(rawValue: 1)
        case 80..<95: message = MessageID(rawValue: UInt64(rng.int(1...Int(model.nextMessageID))))
        default: message = MessageID(rawValue: model.nextMessageID + UInt64(rng.int(0...3)))
        }
        return ChatModelWrite(
            kind: "markRead", detail: "markRead \(user) \(id) through \(message)", conversation: id,
            viaWriter: { try $0.markRead(user: user, conversation: id, through: message); return .none },
            viaDatabase: { try $0.markRead(user: user, conversation: id, through: message); return .none },
            expect: { model, _ in try model.markRead(user: user, conversation: id, through: message); return .none })
    }

    func planUpsertUser(fresh: Bool) -> ChatModelWrite {
        let handle: String
        let roll = rng.int(0..<100)
        if fresh || roll < 55, let uncreated = rng.pick(uncreatedHandles()) {
            handle = uncreated
        } else if roll < 96, let existing = rng.pick(createdHandles) {
            handle = existing
        } else {
            handle = rng.chance(0.5) ? "" : String(repeating: "x", count: Limits.maximumNameBytes + 1)
        }
        let displayName: String? = rng.weighted([(50, nil), (45, "Name \(rng.int(0...999))"), (5, "")])
        let metadata: Metadata? = rng.chance(0.3) ? metadata() : nil
        let clock = self.clock
        return ChatModelWrite(
            kind: "upsertUser", detail: "upsertUser \(handle.prefix(20)) \(displayName ?? "-")", conversation: nil,
            viaWriter: { .user(try $0.upsertUser(handle, displayName: displayName, metadata: metadata)) },
            viaDatabase: { .user(try $0.upsertUser(handle, displayName: displayName, metadata: metadata)) },
            expect: { model, _ in
                .user(try model.upsertUser(handle, displayName: displayName, metadata: metadata, now: clock.now))
            })
    }

    func planCreateConversation(valid: Bool) -> ChatModelWrite {
        var members: [String] = []
        let users = createdHandles
        if valid || !rng.chance(0.02) {
            let count: Int = rng.weighted([(30, 1), (40, 2), (15, 3), (15, rng.int(4...8))])
            for _ in 0..<count { members.append(rng.pick(users)!) }
            if rng.chance(0.08) { members.append(members[0]) }
            // Sometimes every spelling of a name: equal as Swift strings, different users here.
            if rng.chance(0.05) { members += rng.pick(canonicalGroups)!.filter { model.hasUser($0) } }
            if !valid && rng.chance(0.04) { members.insert(strangeHandle(), at: rng.int(0...members.count)) }
        }
        var platform: String?
        var externalID: String?
        switch valid ? 0 : rng.int(0..<100) {
        case 0..<45: break
        case 45..<92:
            externalCounter += 1
            platform = rng.pick(["slack", "discord", "web", "sms"])!
            externalID = "ext-\(externalCounter)"
            externalPairs.append((platform!, externalID!))
        case 92..<98:
            if let pair = rng.pick(externalPairs) {
                platform = pair.platform
                externalID = pair.externalID
            }
        default:
            platform = "slack"
        }
        let new = NewConversation(
            participants: members, platform: platform, externalID: externalID,
            title: rng.chance(0.5) ? String(text().prefix(40)) : nil, metadata: rng.chance(0.25) ? metadata() : nil,
            createdAt: rng.chance(0.15) ? Timestamp(microseconds: now.microseconds - rng.int64(0...5 * 86_400_000_000)) : nil)
        let clock = self.clock
        return ChatModelWrite(
            kind: "createConversation",
            detail: "createConversation \(members.map { String($0.prefix(12)) }) \(platform ?? "-")/\(externalID ?? "-")",
            conversation: nil, crashable: false,
            viaWriter: { .conversation(try $0.createConversation(new)) },
            viaDatabase: { .conversation(try $0.createConversation(new)) },
            expect: { model, outcome in
                guard case .conversation(let id)? = outcome else {
                    try model.validate(new)
                    return .none  // the store failed where the model would not: a mismatch
                }
                try model.createConversation(new, id: id, now: clock.now)
                return .conversation(id)
            })
    }

    func planAddParticipant() -> ChatModelWrite {
        let id = someConversation()
        let user: String
        switch rng.int(0..<100) {
        case 0..<70: user = rng.pick(createdHandles) ?? strangeHandle()
        case 70..<85: user = rng.pick(participants(id)) ?? strangeHandle()
        default: user = strangeHandle()
        }
        return ChatModelWrite(
            kind: "addParticipant", detail: "addParticipant \(user) to \(id)", conversation: id,
            viaWriter: { .flag(try $0.addParticipant(user, to: id)) },
            expect: { model, _ in .flag(try model.addParticipant(user, to: id)) })
    }

    func planRemoveParticipant() -> ChatModelWrite {
        let id = someConversation()
        let user: String
        switch rng.int(0..<100) {
        case 0..<80: user = rng.pick(participants(id)) ?? strangeHandle()
        case 80..<90: user = rng.pick(createdHandles) ?? strangeHandle()
        default: user = strangeHandle()
        }
        return ChatModelWrite(
            kind: "removeParticipant", detail: "removeParticipant \(user) from \(id)", conversation: id,
            viaWriter: { try $0.removeParticipant(user, from: id); return .none },
            expect: { model, _ in try model.removeParticipant(user, from: id); return .none })
    }

    func planSetStatus() -> ChatModelWrite {
        let id = someConversation()
        let status: ConversationStatus = rng.weighted([(15, .new), (35, .active), (25, .archived), (25, .closed)])
        return ChatModelWrite(
            kind: "setStatus", detail: "setStatus \(status) of \(id)", conversation: id,
            viaWriter: { try $0.setStatus(status, of: id); return .none },
            viaDatabase: { try $0.setStatus(status, of: id); return .none },
            expect: { model, _ in try model.setStatus(status, of: id); return .none })
    }

    func planSetTitle() -> ChatModelWrite {
        let id = someConversation()
        var title: String? = rng.chance(0.2) ? nil : String(text().prefix(50))
        if rng.chance(0.02) { title = String(repeating: "t", count: Limits.maximumTitleBytes + 1) }
        return ChatModelWrite(
            kind: "setTitle", detail: "setTitle of \(id)", conversation: id,
            viaWriter: { try $0.setTitle(title, of: id); return .none },
            expect: { model, _ in try model.setTitle(title, of: id); return .none })
    }

    func planSetMetadata() -> ChatModelWrite {
        let id = someConversation()
        let metadata: Metadata? = rng.chance(0.3) ? nil : metadata()
        return ChatModelWrite(
            kind: "setMetadata", detail: "setMetadata of \(id)", conversation: id,
            viaWriter: { try $0.setMetadata(metadata, of: id); return .none },
            expect: { model, _ in try model.setMetadata(metadata, of: id); return .none })
    }

    func planDelete() -> ChatModelWrite {
        let id = someConversation()
        return ChatModelWrite(
            kind: "deleteConversation", detail: "deleteConversation \(id)", conversation: id,
            viaWriter: { try $0.deleteConversation(id); return .none },
            viaDatabase: { try $0.deleteConversation(id); return .none },
            expect: { model, _ in try model.deleteConversation(id); return .none })
    }

    func planSetState() -> ChatModelWrite {
        var key = stateKey()
        if rng.chance(0.03) { key = .custom(rng.chance(0.5) ? "" : String(repeating: "k", count: Limits.maximumStateKeyBytes + 1)) }
        let ttl = ttl()
        let value = (0..<rng.int(0...40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        noteStateKey(key)
        let clock = self.clock
        return ChatModelWrite(
            kind: "setState", detail: "setState \(key) ttl \(ttl)", conversation: nil,
            viaWriter: { try $0.setState(key, value: value, ttl: ttl); return .none },
            viaDatabase: { try $0.setState(key, value: value, ttl: ttl); return .none },
            expect: { model, _ in try model.setState(key, value: value, ttl: ttl, now: clock.now); return .none })
    }

    func planTouchState() -> ChatModelWrite {
        let key = stateKey()
        let ttl = ttl()
        noteStateKey(key)
        let clock = self.clock
        return ChatModelWrite(
            kind: "touchState", detail: "touchState \(key) ttl \(ttl)", conversation: nil,
            viaWriter: { .flag(try $0.touchState(key, ttl: ttl)) },
            viaDatabase: { .flag(try $0.touchState(key, ttl: ttl)) },
            expect: { model, _ in .flag(try model.touchState(key, ttl: ttl, now: clock.now)) })
    }

    func planDeleteState() -> ChatModelWrite {
        let key = stateKey()
        noteStateKey(key)
        let clock = self.clock
        return ChatModelWrite(
            kind: "deleteState", detail: "deleteState \(key)", conversation: nil,
            viaWriter: { .flag(try $0.deleteState(key)) },
            viaDatabase: { .flag(try $0.deleteState(key)) },
            expect: { model, _ in .flag(model.deleteState(key, now: clock.now)) })
    }

    func planArchive() -> ChatModelWrite {
        let days = days(purge: false)
        let clock = self.clock
        return ChatModelWrite(
            kind: "archive", detail: "archiveConversations(inactiveForDays: \(days))", conversation: nil,
            viaWriter: { .count(try $0.archiveConversations(inactiveForDays: days)) },
            viaDatabase: { .count(try $0.archiveConversations(inactiveForDays: days)) },
            expect: { model, _ in .count(try model.archiveConversations(inactiveForDays: days, now: clock.now)) })
    }

    func planPurge() -> ChatModelWrite {
        let days = days(purge: true)
        let clock = self.clock
        return ChatModelWrite(
            kind: "purge", detail: "purgeMessages(olderThanDays: \(days))", conversation: nil,
            viaWriter: { .count(try $0.purgeMessages(olderThanDays: days)) },
            viaDatabase: { .count(try $0.purgeMessages(olderThanDays: days)) },
            expect: { model, _ in .count(try model.purgeMessages(olderThanDays: days, now: clock.now)) })
    }

    /// A requested checkpoint seals every pending message; an automatic one may leave some
    /// pending (`Options.sealDeferralBytes`), which reads must merge as before.
    func planCheckpoint() -> ChatModelWrite {
        let origin: CheckpointOrigin = rng.chance(0.5) ? .automatic : .requested
        return ChatModelWrite(
            kind: "checkpoint", detail: "checkpoint(origin: .\(origin))", conversation: nil, viaWriter: nil,
            viaDatabase: { try $0.engine.checkpoint(origin: origin); return .none },
            expect: { _, _ in .none })
    }
}
