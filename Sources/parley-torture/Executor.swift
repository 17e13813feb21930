// Running a transaction's intent against a target: the database (in the writer) or the model (in
// the parent). Every decision that depends on state (is the slot empty, who takes part, which
// message is at index i) is made here from the target's answers, once, for both sides.

import Parley

/// A conversation slot as the executor needs to see it.
struct SlotInfo: Equatable {
    var status: ConversationStatus
    /// In byte order, as the store keeps them.
    var participants: [String]
    var messageCount: Int
}

/// A resolved state key: a custom name, or the conversation in a slot.
enum StateName: Hashable, Codable, Sendable, CustomStringConvertible {
    case custom(String)
    case conversation(String)

    var description: String {
        switch self {
        case .custom(let name): return "custom \(name)"
        case .conversation(let slot): return "conversation \(slot)"
        }
    }
}

/// What the executor reads and changes. The database's and the model's versions must agree on
/// every answer for the same history; where they do not, the parent's comparison says so.
protocol WorkloadTarget {
    func slot(_ name: String) throws -> SlotInfo?
    func userExists(_ handle: String) throws -> Bool
    /// The id of the message at `index`, oldest first.
    func messageID(slot: String, index: Int) throws -> MessageID?

    mutating func upsertUser(_ handle: String, displayName: String?, metadata: Metadata?) throws
    mutating func createConversation(slot: String, _ new: NewConversation) throws
    mutating func append(_ messages: [NewMessage], slot: String) throws -> [MessageID]
    mutating func setStatus(_ status: ConversationStatus, slot: String) throws
    mutating func setTitle(_ title: String?, slot: String) throws
    mutating func deleteConversation(slot: String) throws
    mutating func addParticipant(_ handle: String, slot: String) throws
    mutating func removeParticipant(_ handle: String, slot: String) throws
    mutating func markRead(user: String, slot: String, through message: MessageID) throws
    mutating func setState(_ key: StateName, value: [UInt8], ttl: Double) throws
    mutating func touchState(_ key: StateName, ttl: Double) throws
    mutating func deleteState(_ key: StateName) throws
    mutating func purge(olderThanDays days: Double) throws
    mutating func archive(inactiveForDays days: Double) throws
}

/// The ledger: a conversation whose message `seq` is appended by transaction `seq`, last, so
/// that the newest ledger message is the durable position and every commit leaves a trace.
enum Ledger {
    static let slot = "ledger"
    static let user = "ledger"
    /// Ledger messages are dated 2100 onwards: no purge or archive cutoff ever reaches them.
    static let epoch: Int64 = 4_102_444_800_000_000

    static func time(_ seq: UInt64) -> Timestamp { Timestamp(microseconds: epoch + Int64(seq) * 1_000) }
    static func text(_ seq: UInt64) -> String { "seq \(seq)" }

    /// The sequence number in a ledger message's text, or nil.
    static func seq(fromText text: String) -> UInt64? {
        guard text.hasPrefix("seq ") else { return nil }
        return UInt64(text.dropFirst(4))
    }
}

enum Executor {
    /// Runs transaction `plan` on `target`: its intent, then the ledger's step.
    static func run<T: WorkloadTarget>(_ plan: TransactionPlan, on target: inout T) throws {
        let now = LogicalClock.time(plan.seq)
        switch plan.intent {
        case .append(let slot, let fallback, let drafts):
            _ = try append(drafts, to: slot, fallback: fallback, now: now, on: &target)
        case .reply(let slot, let fallback, let drafts, let value, let ttl):
            let name = Workload.slotName(slot)
            let ids = try append(drafts, to: slot, fallback: fallback, now: now, on: &target)
            try target.setState(.conversation(name), value: value, ttl: ttl)
            if let info = try target.slot(name), let reader = info.participants.first, let last = ids.last {
                try target.markRead(user: reader, slot: name, through: last)
            }
        case .create(let slot, let draft):
            for offset in 0..<Workload.slots {
                let candidate = (slot + offset) % Workload.slots
                if try target.slot(Workload.slotName(candidate)) == nil {
                    try create(candidate, draft, now: now, on: &target)
                    break
                }
            }
        case .upsertUser(let user, let displayName, let metadata):
            try target.upsertUser(Workload.userHandle(user), displayName: displayName, metadata: metadata)
        case .setState(let key, let value, let ttl):
            if let name = try resolve(key, on: target) { try target.setState(name, value: value, ttl: ttl) }
        case .touchState(let key, let ttl):
            if let name = try resolve(key, on: target) { try target.touchState(name, ttl: ttl) }
        case .deleteState(let key):
            if let name = try resolve(key, on: target) { try target.deleteState(name) }
        case .deleteConversation(let slot):
            let name = Workload.slotName(slot)
            if try target.slot(name) != nil { try target.deleteConversation(slot: name) }
        case .purge(let days):
            try target.purge(olderThanDays: days)
        case .archive(let days):
            try target.archive(inactiveForDays: days)
        case .setStatus(let slot, let status):
            let name = Workload.slotName(slot)
            if try target.slot(name) != nil { try target.setStatus(status, slot: name) }
        case .setTitle(let slot, let title):
            let name = Workload.slotName(slot)
            if try target.slot(name) != nil { try target.setTitle(title, slot: name) }
        case .markRead(let slot, let reader, let index):
            let name = Workload.slotName(slot)
            if let info = try target.slot(name), info.messageCount > 0,
                let id = try target.messageID(slot: name, index: index % info.messageCount)
            {
                try requireParticipants(info, name)
                let user = info.participants[reader % info.participants.count]
                try target.markRead(user: user, slot: name, through: id)
            }
        case .addParticipant(let slot, let user):
            let name = Workload.slotName(slot)
            let handle = Workload.userHandle(user)
            if let info = try target.slot(name), !info.participants.contains(handle) {
                try ensureUser(handle, on: &target)
                try target.addParticipant(handle, slot: name)
            }
        case .removeParticipant(let slot, let participant):
            let name = Workload.slotName(slot)
            if let info = try target.slot(name), info.participants.count > 1 {
                try target.removeParticipant(info.participants[participant % info.participants.count], slot: name)
            }
        case .nothing:
            break
        }
        try advanceLedger(plan, on: &target)
    }

    private static func advanceLedger<T: WorkloadTarget>(_ plan: TransactionPlan, on target: inout T) throws {
        if try target.slot(Ledger.slot) == nil {
            try ensureUser(Ledger.user, on: &target)
            try target.createConversation(
                slot: Ledger.slot,
                NewConversation(
                    participants: [Ledger.user], platform: Workload.platform, externalID: Ledger.slot, title: "ledger",
                    createdAt: Ledger.time(plan.seq)))
        }
        let message = NewMessage(
            sender: Ledger.user, text: Ledger.text(plan.seq), tokens: 1, createdAt: Ledger.time(plan.seq),
            metadata: ["durability": .string(plan.durability.rawValue)])
        _ = try target.append([message], slot: Ledger.slot)
    }

    /// Appends to a slot, creating its conversation first when the slot is empty and reopening
    /// it when it is closed.
    private static func append<T: WorkloadTarget>(
        _ drafts: [MessageDraft], to slot: Slot, fallback: ConversationDraft, now: Timestamp, on target: inout T
    ) throws -> [MessageID] {
        let name = Workload.slotName(slot)
        if try target.slot(name) == nil { try create(slot, fallback, now: now, on: &target) }
        guard let info = try target.slot(name) else { return [] }
        try requireParticipants(info, name)
        if info.status == .closed { try target.setStatus(.active, slot: name) }
        let messages = drafts.map { draft in
            NewMessage(
                sender: info.participants[draft.sender % info.participants.count], role: draft.role, text: draft.text,
                contentType: draft.contentType, attachments: draft.attachments, tokens: draft.tokens,
                status: draft.status, createdAt: draft.createdBefore.map { Timestamp(microseconds: now.microseconds - $0) },
                metadata: draft.metadata)
        }
        return try target.append(messages, slot: name)
    }

    private static func create<T: WorkloadTarget>(
        _ slot: Slot, _ draft: ConversationDraft, now: Timestamp, on target: inout T
    ) throws {
        let handles = draft.participants.map(Workload.userHandle)
        for handle in handles { try ensureUser(handle, on: &target) }
        try target.createConversation(
            slot: Workload.slotName(slot),
            NewConversation(
                participants: handles, platform: Workload.platform, externalID: Workload.slotName(slot),
                title: draft.title, metadata: draft.metadata,
                createdAt: draft.createdBefore.map { Timestamp(microseconds: now.microseconds - $0) }))
    }

    /// A stored conversation always has a participant; a damaged one must not trap the writer.
    private static func requireParticipants(_ info: SlotInfo, _ slot: String) throws {
        guard !info.participants.isEmpty else { throw TortureError.workload("slot \(slot) has no participants") }
    }

    private static func ensureUser<T: WorkloadTarget>(_ handle: String, on target: inout T) throws {
        if try !target.userExists(handle) { try target.upsertUser(handle, displayName: nil, metadata: nil) }
    }

    /// A conversation's key only while its slot holds one; a custom key always.
    private static func resolve<T: WorkloadTarget>(_ key: StateTarget, on target: T) throws -> StateName? {
        switch key {
        case .custom(let n): return .custom(Workload.customKey(n))
        case .conversation(let slot):
            let name = Workload.slotName(slot)
            return try target.slot(name) == nil ? nil : .conversation(name)
        }
    }
}
