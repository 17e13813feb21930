// The valid logs the `log` target mutates: small chat workloads run once per process on a
// simulated disk, one commit per step, with no checkpoint (or one in the middle), so that every
// commit is still in the log. After each commit the whole store is dumped: a recovered store must
// equal one of these dumps (a prefix of the commits), whatever was done to the log.
//
// The clock stands still (state must not expire between a dump and the check); old messages get
// explicit times instead, so that purging and archiving have work.

import FuzzSupport
import Parley

struct LogScenario: Sendable {
    let name: String
    /// The database file, as the log's commits found it.
    let database: [UInt8]
    /// The log, up to the end of its last record.
    let log: [UInt8]
    /// The store after each commit the log holds (the first: before any of them).
    let dumps: [ChatDump]
    let stateKeys: [StateKey]
}

/// One commit of a workload; `ids` are the conversations created so far.
typealias LogStep = @Sendable (Database, inout [ConversationID]) throws -> Void

enum LogScenarios {
    static let all: [LogScenario] = {
        do {
            return [
                try build("chat", chat, checkpointAfter: nil),
                try build("lifecycle", chat.prefix(4) + lifecycle, checkpointAfter: nil),
                try build("checkpointed", chat + lifecycle, checkpointAfter: 7),
            ]
        } catch {
            fatalError("harness: building the log scenarios failed: \(error)")
        }
    }()

    static let day: Double = 86_400
    static let old = Timestamp(microseconds: FuzzDatabase.epoch).adding(seconds: -40 * day)

    static func message(_ sender: String, _ text: String, role: Role = .user, at: Timestamp? = nil) -> NewMessage {
        NewMessage(sender: sender, role: role, text: text, createdAt: at)
    }

    static let chat: [LogStep] = [
        { db, _ in try db.write { for handle in ["alice", "bot", "zoë"] { try $0.upsertUser(handle) } } },
        { db, ids in ids.append(try db.createConversation(NewConversation(participants: ["alice", "bot"], platform: "slack", externalID: "C1"))) },
        { db, ids in try db.append(message("bot", "You help.", role: .system), to: ids[0]) },
        { db, ids in try db.append(contentsOf: [message("alice", "Where is my order?"), message("bot", "Checking.", role: .assistant)], to: ids[0]) },
        { db, ids in ids.append(try db.createConversation(NewConversation(participants: ["zoë", "bot"], title: "Gruppe"))) },
        { db, ids in try db.append(message("zoë", "früh", at: Timestamp(microseconds: FuzzDatabase.epoch - 5_000_000)), to: ids[1]) },
        { db, ids in try db.setState(.conversation(ids[0]), value: Array("lookup".utf8), ttl: 3600) },
        { db, ids in try db.markRead(user: "alice", conversation: ids[0], through: MessageID(rawValue: 3)) },
        { db, _ in try db.setState(.custom("k"), value: [1, 2, 3], ttl: 3600) },
        { db, ids in try db.append(message("bot", "Found it: order 981 ships today.", role: .assistant), to: ids[0]) },
        { db, _ in _ = try db.deleteState(.custom("k")) },
        { db, ids in try db.setStatus(.closed, of: ids[1]) },
    ]

    static let lifecycle: [LogStep] = [
        { db, ids in ids.append(try db.createConversation(NewConversation(participants: ["alice"], createdAt: old))) },
        { db, ids in try db.append(contentsOf: (0..<5).map { message("alice", "old \($0)", at: old.adding(seconds: Double($0))) }, to: ids[ids.count - 1]) },
        { db, ids in try db.write { _ = try $0.addParticipant("zoë", to: ids[ids.count - 1]) } },
        { db, _ in try db.purgeMessages(olderThanDays: 30) },
        { db, _ in try db.archiveConversations(inactiveForDays: 7) },
        { db, ids in try db.deleteConversation(ids[0]) },
        { db, _ in try db.upsertUser("alice", displayName: "Alice", metadata: ["vip": true]) },
    ]

    static func build(_ name: String, _ steps: [LogStep], checkpointAfter: Int?) throws -> LogScenario {
        let disk = SimulatedDisk()
        let database = try Database.open(path: FuzzDatabase.path, options: FuzzDatabase.options(disk: disk))
        var ids: [ConversationID] = []
        var dumps: [ChatDump] = []
        let keys: [StateKey] = [.custom("k")]
        // The layout commit (record 1) gives the same store as an empty log.
        dumps.append(try ChatSurvey.dump(database, stateKeys: keys))
        for (index, step) in steps.enumerated() {
            try step(database, &ids)
            if index == checkpointAfter {
                try database.checkpoint()
                dumps = []
            }
            dumps.append(try ChatSurvey.dump(database, stateKeys: keys))
        }
        let files = FuzzDatabase.files(on: disk)
        return LogScenario(
            name: name, database: files.database, log: ChecksumRepair.trimLog(files.log), dumps: dumps, stateKeys: keys)
    }
}
