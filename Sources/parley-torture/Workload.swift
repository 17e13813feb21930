// The workload: what transaction `seq` of a cycle intends, drawn from (cycle seed, seq) alone.
// An intent names slots, users and indexes rather than ids; `Executor` resolves it against the
// state the transaction sees, the same way in the writer (on the database) and in the parent (on
// its model), so both compute the same effects.

import Parley

/// Where a conversation lives: slot `n` is the conversation with platform "torture" and external
/// id "s<n>", whatever random id the database gave it.
typealias Slot = Int

/// A conversation to create when a slot is empty. Participants are user numbers ("u<n>").
struct ConversationDraft {
    var participants: [Int]
    var title: String?
    var metadata: Metadata?
    /// Microseconds before the transaction's time; nil lets the database use its clock.
    var createdBefore: Int64?
}

/// A message to append. The sender is an index into the conversation's participants, resolved
/// when the transaction runs.
struct MessageDraft {
    var sender: Int
    var role: Role
    var text: String
    var contentType: String
    var attachments: [Attachment]
    var tokens: Int?
    var status: MessageStatus
    /// Microseconds before the transaction's time (out-of-order arrivals); nil: the clock's now.
    var createdBefore: Int64?
    var metadata: Metadata?
}

/// A state value's key before resolution: a custom key "k<n>", or a slot's conversation.
enum StateTarget {
    case custom(Int)
    case conversation(Slot)
}

/// What one transaction does, besides advancing the ledger.
enum Intent {
    case append(Slot, fallback: ConversationDraft, messages: [MessageDraft])
    /// An append, the conversation's state and the first participant's read marker together.
    case reply(Slot, fallback: ConversationDraft, messages: [MessageDraft], state: [UInt8], ttl: Double)
    /// Creates a conversation in the first empty slot from this one on (nothing when all are full).
    case create(Slot, ConversationDraft)
    case upsertUser(Int, displayName: String?, metadata: Metadata?)
    case setState(StateTarget, value: [UInt8], ttl: Double)
    case touchState(StateTarget, ttl: Double)
    case deleteState(StateTarget)
    case deleteConversation(Slot)
    case purge(days: Double)
    case archive(days: Double)
    case setStatus(Slot, ConversationStatus)
    case setTitle(Slot, String?)
    /// Participant `reader` (an index) marks read through message `message` (an oldest-first index).
    case markRead(Slot, reader: Int, message: Int)
    case addParticipant(Slot, user: Int)
    case removeParticipant(Slot, participant: Int)
    /// Only the ledger moves.
    case nothing
}

/// Work the writer does after a transaction; it changes no content, so the parent ignores it.
enum Maintenance: String {
    case checkpoint, compact, flush
}

/// Transaction `seq` of a cycle, complete.
struct TransactionPlan {
    let seq: UInt64
    let durability: Durability
    let intent: Intent
    let maintenance: Maintenance?
    /// A pause after the transaction, so that a cycle's work spreads over the kill window.
    let pauseMicroseconds: Int
}

/// The cycle's generator of transactions.
struct Workload {
    static let slots = 10
    static let users = 8
    static let customKeys = 6
    static let platform = "torture"

    static func slotName(_ slot: Slot) -> String { "s\(slot)" }
    static func userHandle(_ user: Int) -> String { "u\(user)" }
    static func customKey(_ key: Int) -> String { "k\(key)" }

    let plan: CyclePlan

    func transaction(_ seq: UInt64) -> TransactionPlan {
        var random = SeededRandom(seed: plan.seed, member: seq)
        let durability = random.chance(0.15) ? random.pick(Durability.allCases) : plan.durability
        let intent = Self.intent(&random)
        let maintenance = random.weighted([
            (964, nil), (22, Maintenance.checkpoint), (2, .compact), (12, .flush),
        ])
        let pause = random.weighted([(60, 0...0), (30, 0...500), (10, 500...3_000)])
        return TransactionPlan(
            seq: seq, durability: durability, intent: intent, maintenance: maintenance,
            pauseMicroseconds: random.int(pause))
    }

    private enum Kind {
        case append, bulk, reply, create, user, setState, touch, deleteState, delete, purge, archive
        case status, title, markRead, join, leave, nothing
    }

    private static func intent(_ random: inout SeededRandom) -> Intent {
        let kind = random.weighted([
            (34, Kind.append), (3, .bulk), (8, .reply), (6, .create), (4, .user), (7, .setState), (3, .touch),
            (3, .deleteState), (3, .delete), (2, .purge), (2, .archive), (4, .status), (2, .title),
            (8, .markRead), (3, .join), (2, .leave), (1, .nothing),
        ])
        let slot = random.int(0...(slots - 1))
        switch kind {
        case .append:
            return .append(slot, fallback: conversation(&random), messages: messages(&random, count: random.int(1...4)))
        case .bulk:
            return .append(slot, fallback: conversation(&random), messages: messages(&random, count: random.int(10...40)))
        case .reply:
            return .reply(
                slot, fallback: conversation(&random), messages: messages(&random, count: random.int(1...2)),
                state: bytes(&random), ttl: ttl(&random))
        case .create: return .create(slot, conversation(&random))
        case .user:
            let name = random.chance(0.7) ? "User \(random.int(0...999)) ✓" : nil
            return .upsertUser(random.int(0...(users - 1)), displayName: name, metadata: random.chance(0.3) ? metadata(&random) : nil)
        case .setState: return .setState(stateTarget(&random), value: bytes(&random), ttl: ttl(&random))
        case .touch: return .touchState(stateTarget(&random), ttl: ttl(&random))
        case .deleteState: return .deleteState(stateTarget(&random))
        case .delete: return .deleteConversation(slot)
        case .purge: return .purge(days: random.pick([0.1, 0.5, 1, 2]))
        case .archive: return .archive(days: random.pick([0.05, 0.25, 1]))
        case .status: return .setStatus(slot, random.pick([.active, .archived, .closed, .closed]))
        case .title: return .setTitle(slot, random.chance(0.8) ? "title \(random.int(0...99_999))" : nil)
        case .markRead: return .markRead(slot, reader: random.int(0...7), message: random.int(0...10_000))
        case .join: return .addParticipant(slot, user: random.int(0...(users - 1)))
        case .leave: return .removeParticipant(slot, participant: random.int(0...7))
        case .nothing: return .nothing
        }
    }

    private static func conversation(_ random: inout SeededRandom) -> ConversationDraft {
        let count = random.int(1...4)
        let participants = (0..<count).map { _ in random.int(0...(users - 1)) }
        return ConversationDraft(
            participants: participants,
            title: random.chance(0.6) ? "chat \(random.int(0...99_999))" : nil,
            metadata: random.chance(0.3) ? metadata(&random) : nil,
            createdBefore: random.chance(0.5) ? Int64(random.int(0...600_000_000)) : nil)
    }

    private static func messages(_ random: inout SeededRandom, count: Int) -> [MessageDraft] {
        (0..<count).map { _ in message(&random) }
    }

    private static func message(_ random: inout SeededRandom) -> MessageDraft {
        let role = random.weighted([(45, Role.user), (40, .assistant), (8, .system), (7, .tool)])
        // Mostly just now; some minutes late, a few hours late (out of order: before messages
        // already stored, and before read markers).
        let late = random.weighted([(20, nil), (60, 0...59_000_000), (15, 0...3_600_000_000), (5, 0...43_200_000_000)])
        var attachments: [Attachment] = []
        if random.chance(0.05) {
            attachments.append(
                Attachment(
                    uri: "file:///media/\(random.int(0...99_999)).png", mimeType: "image/png",
                    size: Int64(random.int(0...5_000_000)), name: random.chance(0.5) ? "photo.png" : nil))
        }
        return MessageDraft(
            sender: random.int(0...7), role: role, text: text(&random),
            contentType: random.chance(0.9) ? "text/plain" : "application/json", attachments: attachments,
            tokens: random.chance(0.5) ? random.int(0...500) : nil,
            status: random.weighted([(90, MessageStatus.complete), (5, .incomplete), (5, .failed)]),
            createdBefore: late.map { Int64(random.int($0)) },
            metadata: random.chance(0.1) ? metadata(&random) : nil)
    }

    private static let words = [
        "order", "shipping", "refund", "hello", "thanks", "ticket", "invoice", "delay", "password", "reset",
        "the", "a", "is", "was", "when", "my", "your", "package", "arrived", "broken", "résumé", "naïve", "Grüße",
        "日本語", "привет", "🙂", "👍🏽", "—", "«ok»",
    ]

    private static func text(_ random: inout SeededRandom) -> String {
        let count = random.weighted([(10, 0...0), (70, 1...20), (17, 20...120), (3, 300...1_500)])
        let n = random.int(count)
        var out = ""
        for index in 0..<n {
            if index > 0 { out += " " }
            out += random.pick(words)
        }
        return out
    }

    private static func metadata(_ random: inout SeededRandom) -> Metadata {
        .object([
            "n": .int(Int64(random.int(-1_000...1_000_000))),
            "tag": .string(random.pick(words)),
            "flags": .array([.bool(random.chance(0.5)), .null]),
        ])
    }

    private static func bytes(_ random: inout SeededRandom) -> [UInt8] {
        let count = random.weighted([(10, 0...0), (80, 1...64), (10, 200...3_000)])
        return (0..<random.int(count)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    /// TTLs from half a transaction to a day of logical time (a transaction is a minute).
    private static func ttl(_ random: inout SeededRandom) -> Double {
        random.pick([30, 90, 150, 600, 3_600, 86_400])
    }

    private static func stateTarget(_ random: inout SeededRandom) -> StateTarget {
        random.chance(0.5) ? .custom(random.int(0...(customKeys - 1))) : .conversation(random.int(0...(slots - 1)))
    }
}
