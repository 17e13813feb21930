// Decoding the input into steps, one at a time, against the current state: a byte chooses the
// kind of step, the next ones its arguments, drawn from small tables (six handles, a few texts,
// keys, TTLs, clock jumps) or from what exists (conversations created so far, message ids, the
// times of stored messages, inbox cursors), so that most steps do something valid and some
// do not. The layout of each step is in `Kind`'s comments; `ProgramWriter` writes it for seeds.

import FuzzSupport
import Parley

enum Tables {
    /// Two spellings of "émile": equal as Swift strings, different users in the store.
    static let handles = ["alice", "bot", "zoë", "e\u{301}mile", "\u{E9}mile", "ghost", ""]
    static let texts = [
        "hi", "", "hello world", "ünïcødé 😀 中文", String(repeating: "lorem ipsum ", count: 60), "line\nbreak", "x",
    ]
    static let customKeys = ["k0", "k1", "session/2", ""]
    static let ttls: [Double] = [30, 3600, 0, 0.5, 86_400, -1, .infinity, .nan]
    static let clockSteps: [Int64] = [0, 1, 1_000_000, 30_000_000, 3_600_000_000, 86_400_000_000, 40 * 86_400_000_000]
    static let days: [Double] = [0, 1, 30, 0.0001, 45, -1, .infinity, .nan]
    static let unknownConversation: ConversationID = {
        guard let id = ConversationID("00000000-0000-4000-8000-000000000001") else { fatalError("harness: a bad UUID constant") }
        return id
    }()
}

/// The kinds of step, by their first byte (modulo the count; some kinds appear twice to be
/// drawn more often). Argument bytes follow.
enum Kind: UInt8, CaseIterable {
    case upsertUser       // handle, name choice, metadata flag
    case create           // participant mask, external choice, external number, title flag, created-at choice
    case append           // conversation, message (see `message`)
    case appendBatch      // conversation, count, messages
    case messages         // conversation, order+limit, after, before, range, roles, sender
    case page             // conversation, start, count, order
    case context          // conversation, budget
    case inbox            // handle, limit, offset, cursor, statuses
    case markRead         // handle, conversation, message
    case unread           // handle, conversation (255: all)
    case setState         // key, value length, ttl
    case getState         // key
    case touchState       // key, ttl
    case deleteState      // key
    case advanceClock     // step
    case archive          // days
    case purge            // days
    case delete           // conversation
    case setStatus        // conversation, status
    case checkpoint       //
    case reopen           //
    case crash            // budget, seed, recovery budget (0: none), then a whole write step
    case powerLoss        // seed, recovery budget (0: none)
    case message          // message
    case membership       // handle, conversation, join or leave
    case find             // conversation, by id or by external id
    case append2          // as append
    case messages2        // as messages

    static func of(_ byte: UInt8) -> Kind { allCases[Int(byte) % allCases.count] }

    var writes: Bool {
        switch self {
        case .upsertUser, .create, .append, .append2, .appendBatch, .markRead, .setState, .touchState, .deleteState,
            .archive, .purge, .delete, .setStatus, .checkpoint, .membership:
            return true
        default:
            return false
        }
    }
}

struct ProgramDecoder {
    var input: FuzzReader

    init(_ bytes: [UInt8]) { input = FuzzReader(bytes) }

    var isAtEnd: Bool { input.isAtEnd }

    mutating func handle() -> String { Tables.handles[Int(input.byte()) % Tables.handles.count] }

    mutating func conversation(_ known: [ConversationID]) -> ConversationID {
        let byte = input.byte()
        guard byte < 250, !known.isEmpty else { return Tables.unknownConversation }
        return known[Int(byte) % known.count]
    }

    mutating func messageID(_ model: ChatModel) -> MessageID {
        MessageID(rawValue: UInt64(input.byte()) % (model.nextMessageID + 1))
    }

    /// A position in a conversation: a message's (byte < its count), or one between messages.
    mutating func position(in thread: ModelThread?, now: Timestamp) -> MessagePosition? {
        let byte = input.byte()
        if byte == 255 { return nil }
        if let messages = thread?.messages, Int(byte) < messages.count { return messages[Int(byte)].position }
        return MessagePosition(createdAt: now.adding(seconds: -Double(byte)), id: MessageID(rawValue: UInt64(byte)))
    }

    mutating func createdAt(in thread: ModelThread?, now: Timestamp) -> Timestamp? {
        let choice = input.byte()
        let amount = Double(input.byte())
        switch choice % 6 {
        case 0: return nil
        case 1: return now
        case 2: return now.adding(seconds: -amount)
        case 3: return now.adding(seconds: amount)
        case 4:
            // Exactly the time of a stored message: positions tie on created_at.
            guard let messages = thread?.messages, !messages.isEmpty else { return now }
            return messages[Int(amount) % messages.count].createdAt
        default: return now.adding(seconds: -amount * 86_400)
        }
    }

    /// sender, role+status flags, text, created-at choice and amount, extras flags, tokens
    mutating func message(in thread: ModelThread?, now: Timestamp) -> NewMessage {
        let sender = handle()
        let flags = input.byte()
        var message = NewMessage(
            sender: sender, role: Role.allCases[Int(flags & 3)], text: Tables.texts[Int(input.byte()) % Tables.texts.count],
            status: MessageStatus.allCases[Int(flags >> 2 & 3) % 3], createdAt: createdAt(in: thread, now: now))
        let extras = input.byte()
        if extras & 1 != 0 { message.metadata = ["n": .int(Int64(extras)), "s": "x", "a": [1.5, .null]] }
        if extras & 2 != 0 { message.attachments = [Attachment(uri: "s3://b/\(extras)", mimeType: "image/png", size: Int64(extras), name: "p.png")] }
        if extras & 4 != 0 { message.contentType = "text/markdown" }
        if extras & 8 != 0 { message.contentType = "" }
        if extras & 16 != 0 { message.attachments = [Attachment(uri: "u", mimeType: "a/b", size: -1)] }
        let tokens = input.byte()
        if tokens != 0 { message.tokens = Int(tokens) - 1 }
        return message
    }

    mutating func stateKey(_ known: [ConversationID]) -> StateKey {
        let byte = input.byte()
        if byte & 1 == 0 { return .custom(Tables.customKeys[Int(byte >> 1) % Tables.customKeys.count]) }
        return .conversation(known.isEmpty || byte >= 250 ? Tables.unknownConversation : known[Int(byte >> 1) % known.count])
    }

    /// The next step, or nil at the end of the input.
    mutating func next(_ model: ChatModel, known: [ConversationID], now: Timestamp) -> Step? {
        guard !input.isAtEnd else { return nil }
        let kind = Kind.of(input.byte())
        switch kind {
        case .crash:
            let budget = Int(input.byte() % 32)
            let seed = UInt64(input.byte())
            let recovery = input.byte()
            var write = Kind.of(input.byte())
            while !write.writes || write == .create { write = Kind.of(write.rawValue &+ 1) }
            guard case .change(let mutation)? = step(write, model, known, now) else { return nil }
            return .crash(mutation, budget: budget, seed: seed, recoveryBudget: recovery == 0 ? nil : Int(recovery % 48))
        case .powerLoss:
            let seed = UInt64(input.byte())
            let recovery = input.byte()
            return .powerLoss(seed: seed, recoveryBudget: recovery == 0 ? nil : Int(recovery % 48))
        default:
            return step(kind, model, known, now)
        }
    }

    private mutating func step(_ kind: Kind, _ model: ChatModel, _ known: [ConversationID], _ now: Timestamp) -> Step? {
        switch kind {
        case .upsertUser:
            let handle = handle()
            let name = input.byte()
            let metadata = input.byte()
            return .change(.upsertUser(
                handle, displayName: name % 3 == 0 ? nil : name % 3 == 1 ? "Name \(name)" : "",
                metadata: metadata & 1 == 0 ? nil : ["tier": .string("gold"), "level": .int(Int64(metadata))]))
        case .create:
            let mask = input.byte()
            let external = input.byte()
            let number = input.byte() % 4
            let title = input.byte()
            let old = input.byte()
            var participants = (0..<7).filter { mask & (1 << $0) != 0 }.map { Tables.handles[$0] }
            if mask & 0x80 != 0, let first = participants.first { participants.append(first) }
            let (platform, externalID): (String?, String?) = switch external % 4 {
            case 0: (nil, nil)
            case 1: ("slack", "C\(number)")
            case 2: ("slack", nil)
            default: ("web", "W\(number)")
            }
            return .change(.create(NewConversation(
                participants: participants, platform: platform, externalID: externalID,
                title: title & 1 == 0 ? nil : "Title \(title)", metadata: title & 2 == 0 ? nil : ["t": .bool(true)],
                createdAt: old == 0 ? nil : now.adding(seconds: -Double(old) * 3_600))))
        case .append, .append2:
            let id = conversation(known)
            return .change(.append(id, [message(in: model.threads[id], now: now)]))
        case .appendBatch:
            let id = conversation(known)
            let count = Int(input.byte() % 6)
            return .change(.append(id, (0..<count).map { _ in message(in: model.threads[id], now: now) }))
        case .messages, .messages2:
            let id = conversation(known)
            let thread = model.threads[id]
            let shape = input.byte()
            let after = position(in: thread, now: now)
            let before = position(in: thread, now: now)
            let range = input.byte()
            let roles = input.byte()
            let sender = input.byte()
            var query = MessageQuery(order: shape & 1 == 0 ? .newestFirst : .oldestFirst, limit: shape >> 1 == 127 ? nil : Int(shape >> 1) % 12)
            query.after = after
            query.before = before
            if range != 0 {
                let a = now.adding(seconds: -Double(range & 0x0F) * 10)
                let b = now.adding(seconds: -Double(range >> 4) * 10)
                query.timeRange = min(a, b)..<max(a, b)
            }
            if roles & 0x10 != 0 { query.roles = Set(Role.allCases.enumerated().filter { roles & (1 << $0.offset) != 0 }.map(\.element)) }
            if sender != 0 { query.sender = Tables.handles[Int(sender) % Tables.handles.count] }
            return .ask(.messages(id, query))
        case .page:
            let id = conversation(known)
            let start = Int(input.byte() % 40)
            let count = Int(input.byte() % 12)
            return .ask(.page(id, start..<(start + count), input.bool() ? .newestFirst : .oldestFirst))
        case .context:
            let id = conversation(known)
            return .ask(.context(id, budget: Int(input.byte()) * 3 - 3))
        case .inbox:
            let user = handle()
            let limit = Int(input.byte() % 8)
            let offset = Int(input.byte() % 4)
            let cursor = input.byte()
            let statuses = input.byte()
            var query = InboxQuery(limit: limit, offset: offset)
            let entries = model.users[ChatModel.bytes(user)] == nil ? [] : model.inbox(of: user, InboxQuery(limit: 100))
            if Int(cursor) < entries.count { query.after = entries[Int(cursor)].cursor }
            if statuses & 0x10 != 0 {
                query.statuses = Set(ConversationStatus.allCases.enumerated().filter { statuses & (1 << $0.offset) != 0 }.map(\.element))
            }
            return .ask(.inbox(user, query))
        case .markRead:
            let user = handle()
            let id = conversation(known)
            return .change(.markRead(user: user, id, messageID(model)))
        case .unread:
            let user = handle()
            let all = input.byte() == 255
            return .ask(.unread(user, all ? nil : conversation(known)))
        case .setState:
            let key = stateKey(known)
            let length = Int(input.byte() % 24)
            return .change(.setState(key, value: input.take(length), ttl: Tables.ttls[Int(input.byte()) % Tables.ttls.count]))
        case .getState: return .ask(.state(stateKey(known)))
        case .touchState:
            let key = stateKey(known)
            return .change(.touchState(key, ttl: Tables.ttls[Int(input.byte()) % Tables.ttls.count]))
        case .deleteState: return .change(.deleteState(stateKey(known)))
        case .advanceClock: return .advanceClock(Tables.clockSteps[Int(input.byte()) % Tables.clockSteps.count])
        case .archive: return .change(.archive(days: Tables.days[Int(input.byte()) % Tables.days.count]))
        case .purge: return .change(.purge(days: Tables.days[Int(input.byte()) % Tables.days.count]))
        case .delete: return .change(.delete(conversation(known)))
        case .setStatus:
            let id = conversation(known)
            return .change(.setStatus(id, ConversationStatus.allCases[Int(input.byte()) % 4]))
        case .checkpoint: return .change(.checkpoint)
        case .reopen: return .reopen
        case .message: return .ask(.message(messageID(model)))
        case .membership:
            let user = handle()
            let id = conversation(known)
            return .change(input.bool() ? .leave(user, id) : .join(user, id))
        case .find:
            let id = conversation(known)
            let byExternal = input.byte()
            guard byExternal & 1 != 0 else { return .ask(.conversation(id)) }
            return .ask(.external(platform: byExternal & 2 == 0 ? "slack" : "web", externalID: (byExternal & 4 == 0 ? "C" : "W") + "\((byExternal >> 3) % 4)"))
        case .crash, .powerLoss:
            return nil
        }
    }
}
