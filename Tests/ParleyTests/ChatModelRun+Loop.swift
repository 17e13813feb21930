// Whole-state comparisons, reopening and crashing, and the main loop of a run.

import Foundation
import XCTest
@testable import Parley

extension ChatModelRun {
    // MARK: Whole-state comparisons

    /// Keys for comparing the store with `models`: everything, except that only `inboxes` users'
    /// inboxes are read (all when nil), only `conversations` conversations (all when nil; `focus`
    /// always, and then only a sample of users' unread totals) and `sampleMessages` random ids
    /// are looked up.
    func keys(
        for models: [ChatModel], inboxes: Int? = nil, conversations: Int? = nil, focus: ConversationID? = nil,
        sampleMessages: Int = 150
    ) -> ChatDumpKeys {
        var keys = ChatDumpKeys()
        keys.handles = handles.filter { handle in models.contains { $0.hasUser(handle) } } + ["ghost-0", ""]
        keys.inboxHandles = keys.handles
        if let inboxes, keys.handles.count > inboxes {
            keys.inboxHandles = (0..<inboxes).map { _ in keys.handles[rng.int(0..<keys.handles.count)] }
            // A sampled comparison reads unread totals for a sample too (twice as many users).
            if conversations != nil { keys.handles = keys.inboxHandles + keys.inboxHandles.map { _ in rng.pick(keys.handles)! } }
        }
        keys.conversations = conversationIDs
        if let conversations, conversationIDs.count > conversations {
            let share = Double(conversations) / Double(conversationIDs.count)
            keys.conversations = conversationIDs.filter { $0 == focus || rng.chance(share) }
        }
        keys.backward = Set(keys.conversations.filter { _ in rng.chance(0.25) })
        for id in keys.conversations {
            var members = Set<ChatHandle>()
            for model in models { members.formUnion(model.threads[id]?.participants ?? []) }
            for handle in members.sorted() { keys.markerPairs.append((user: handle.string, conversation: id)) }
        }
        keys.externals = externalPairs
        keys.stateKeys = stateKeys
        let top = models.map(\.nextMessageID).max() ?? 1
        keys.messageIDs = (0..<sampleMessages).map { _ in MessageID(rawValue: UInt64(rng.int(0...Int(top)))) }
        return keys
    }

    func readDump(_ keys: ChatDumpKeys) throws -> ChatDump {
        try database.read { try ChatDump(reader: $0, keys: keys) }
    }

    func compareDump(_ label: String, keys: ChatDumpKeys) throws {
        let found = try readDump(keys)
        let expected = try ChatDump(model: model, keys: keys, now: now)
        if !found.matches(expected) { throw failure("\(label): the store differs from the model:\n" + found.differences(from: expected, keys: keys)) }
    }

    /// Everything, and the engine's integrity walk.
    func compareAll(_ label: String, inboxes: Int? = nil) throws {
        try compareDump(label, keys: keys(for: [model], inboxes: inboxes))
        let problems = try timed("integrity check") { try database.checkIntegrity().problems }
        if !problems.isEmpty { throw failure("\(label): integrity problems: \(problems)") }
        tallyUp("full comparison")
    }

    // MARK: Reopening and crashing

    /// Closes and opens the database, then compares everything (only `inboxes` users' whole
    /// inboxes; all when nil).
    func reopen(inboxes: Int? = 50) throws {
        record("close and reopen")
        try timed("reopen: close") { try database.close() }
        try timed("reopen: open") { try open() }
        try timed("reopen: compare") { try compareAll("after reopening", inboxes: inboxes) }
        tallyUp("reopen")
    }

    /// Replaces the disk with what a power loss leaves, sometimes losing power again during
    /// recovery, and opens the database on it.
    func powerLossAndRecover() throws {
        var survivor = disk.powerLoss(seed: rng.next())
        if rng.chance(0.3) {
            survivor.crash(afterOperations: rng.int(0...40))
            disk = survivor
            if let interrupted = try? Database.open(path: path, options: makeOptions()) {
                _ = try? interrupted.stats()
                try? interrupted.close()
            }
            survivor = survivor.powerLoss(seed: rng.next())
            tallyUp("crash during recovery")
        }
        disk = survivor
        try open()
    }

    /// Pulls the plug between operations: every acknowledged (`.full`) commit must be there.
    func powerLossBetweenOperations() throws {
        record("power loss")
        disk.crash(afterOperations: 0)
        try? database.close()
        try powerLossAndRecover()
        try compareAll("after a power loss", inboxes: 50)
        tallyUp("power loss")
    }

    /// Runs a write with the power failing after a few disk operations: afterwards the store is
    /// as before it or, all of it, after it (after it, when the write returned).
    func crashDuring(_ write: ChatModelWrite) throws {
        let before = model
        var after = model
        let expected = Result { try write.expect(&after, nil) }
        if case .failure = expected { after = model }
        // A commit takes a log write and a sync; a checkpoint many page writes.
        let budget = rng.int(0...(write.kind == "checkpoint" ? 120 : 3))
        record("crash after \(budget) disk operations in: \(write.detail)")
        disk.crash(afterOperations: budget)
        let actual: Result<ChatModelOutcome, Error>
        if let direct = write.viaDatabase {
            actual = Result { try direct(database) }
        } else {
            let body = write.viaWriter!
            actual = Result { try database.write { try body($0) } }
        }
        let crashed = disk.hasCrashed
        disk.crash(afterOperations: 0)
        try? database.close()
        var acknowledged = false
        switch actual {
        case .success(let found):
            acknowledged = true
            guard case .success(let wanted) = expected, chatModelSame(found, wanted) else {
                throw failure("\(write.detail) (crash test): \n" + chatModelContrast(actual, expected))
            }
        case .failure(let error):
            if crashed, let error = error as? ParleyError, case .storage = error {
                break
            }
            guard case .failure(let wanted) = expected, sameError(error, wanted) else {
                throw failure("\(write.detail) (crash test): \n" + chatModelContrast(actual, expected))
            }
        }
        try powerLossAndRecover()
        // The integrity check below covers every index and counter; this compares a sample of the
        // rest (everything after a checkpoint, which touches everything).
        let keys = write.kind == "checkpoint"
            ? keys(for: [before, after], inboxes: 40)
            : keys(for: [before, after], inboxes: 30, conversations: 60, focus: write.conversation, sampleMessages: 60)
        let found = try readDump(keys)
        let afterDump = try ChatDump(model: after, keys: keys, now: now)
        if found.matches(afterDump) {
            model = after
            tallyUp("crash: \(write.kind) kept")
        } else if !acknowledged, try found.matches(ChatDump(model: before, keys: keys, now: now)) {
            model = before
            tallyUp("crash: \(write.kind) lost")
        } else {
            throw failure(
                "after a crash in \(write.detail) (\(acknowledged ? "acknowledged" : "not acknowledged")), the store is "
                    + "neither before nor after it:\n" + found.differences(from: afterDump, keys: keys))
        }
        invalidateLive()
        let problems = try timed("integrity check") { try database.checkIntegrity().problems }
        if !problems.isEmpty { throw failure("after a crash: integrity problems: \(problems)") }
    }

    // MARK: The loop

    func advanceClock() {
        let delta: Int64
        switch rng.int(0..<1000) {
        case 0..<450: delta = 0
        case 450..<850: delta = rng.int64(1...2_000_000)
        case 850..<988: delta = rng.int64(1...300_000_000)
        case 988..<999: delta = rng.int64(1...2 * 3_600_000_000)
        default: delta = rng.int64(1...2 * 86_400_000_000)
        }
        clock.advance(by: delta)
    }

    /// Runs until `operations` calls of the chat API (writes, including those inside
    /// transactions, and compared queries) have been made.
    func execute() throws {
        let started = Date()
        try open()
        var writes = 0
        var queries = 0
        while writes + queries < operations {
            step = writes + queries
            advanceClock()
            let roll = rng.int(0..<10_000)
            if simulated && roll < 2 {
                try timed("power loss") { try powerLossBetweenOperations() }
            } else if simulated && roll < 10 {
                let kind = rng.int(0..<4)
                if kind == 0 {
                    // In the middle of sealing blocks and writing pages.
                    try timed("crash") { try crashDuring(planCheckpoint()) }
                } else if kind == 1 {
                    let batch = planCrashableTransaction()
                    try timed("crash") { try crashDuring(batch.write) }
                    writes += batch.count
                } else {
                    var write = planWrite()
                    while !write.crashable { write = planWrite() }
                    try timed("crash") { try crashDuring(write) }
                    writes += 1
                }
            } else if roll < (simulated ? 12 : 2) {
                try timed("reopen") { try reopen() }
            } else if roll < 800 {
                let calls = try timed("transaction") { try performTransaction() }
                writes += calls.writes
                queries += calls.queries
            } else if roll < 6_000 {
                let query = planQuery()
                try timed("query \(query.kind)") { try check(query) }
                queries += 1
            } else if roll < 6_020 {
                queries += try timed("paging") { try checkPaging() }
            } else {
                let write = planWrite()
                try timed("write") { try perform(write) }
                writes += 1
            }
        }
        self.writes = writes
        self.queries = queries
        try reopen(inboxes: nil)
        try database.close()
        let elapsed = Date().timeIntervalSince(started)
        let messages = model.threads.values.reduce(0) { $0 + $1.messages.count }
        print(
            "ChatModelRun seed \(seed) \(simulated ? "simulated" : "files"): \(writes) writes and \(queries) queries in "
                + "\(String(format: "%.1f", elapsed)) s; \(model.users.count) users, \(model.threads.count) conversations "
                + "(\(conversationIDs.count) created), \(messages) messages (\(model.nextMessageID - 1) appended), "
                + "clock advanced \(String(format: "%.1f", Double(now.microseconds - 1_700_000_000_000_000) / 86_400e6)) days")
        guard ProcessInfo.processInfo.environment["PARLEY_MODEL_VERBOSE"] != nil else { return }
        print(tally.sorted { $0.key < $1.key }.map { "  \($0.key): \($0.value)" }.joined(separator: "\n"))
        print(timings.sorted { $0.value > $1.value }.map { "  \($0.key): \(String(format: "%.2f", $0.value)) s" }.joined(separator: "\n"))
    }
}
