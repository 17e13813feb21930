// Performing planned writes and queries on the store and the model, and comparing the answers.

import Foundation
import XCTest
@testable import Parley

extension ChatModelRun {

    // MARK: Performing writes

    /// Runs one write on the store and on a copy of the model; keeps the copy when it succeeded.
    func perform(_ write: ChatModelWrite) throws {
        record(write.detail)
        let actual: Result<ChatModelOutcome, Error>
        if let direct = write.viaDatabase, write.viaWriter == nil || rng.chance(0.5) {
            actual = Result { try direct(database) }
        } else {
            let body = write.viaWriter!
            actual = Result { try database.write { try body($0) } }
        }
        var after = model
        let expected = Result { try write.expect(&after, try? actual.get()) }
        switch (actual, expected) {
        case (.success(let found), .success(let wanted)) where chatModelSame(found, wanted):
            model = after
            learn(found)
            tallyUp("\(write.kind) ok")
        case (.failure(let found), .failure(let wanted)) where sameError(found, wanted):
            tallyUp("\(write.kind) \(errorName(wanted))")
            // Half of the time (they are many): what the failed write may have touched is unchanged.
            if rng.chance(0.5) { try timed("check unchanged") { try checkUnchanged(after: write) } }
        default:
            var handles = ""
            if case .success(let a) = actual, case .success(let b) = expected { handles = "\n" + chatModelHandleContrast(a, b) }
            throw failure("\(write.detail):\n" + chatModelContrast(actual, expected) + handles)
        }
        if write.kind == "deleteConversation" { invalidateLive() }
    }

    /// Several writes in one transaction, some failing (caught inside it), a query on the
    /// transaction's own view, and sometimes an abort at the end.
    func performTransaction() throws -> (writes: Int, queries: Int) {
        let writes = (0..<rng.int(2...6)).map { _ in planWrite(inTransaction: true) }
        let query = rng.chance(0.5) ? planQuery() : nil
        let abort = rng.chance(0.1)
        record("transaction of \(writes.map(\.kind))\(abort ? ", aborted" : "")")
        for write in writes { record("  \(write.detail)") }
        var found: [Result<ChatModelOutcome, Error>] = []
        var answer: Result<ChatModelAnswer, Error>?
        let committed = Result {
            try database.write { writer in
                for write in writes { found.append(Result { try write.viaWriter!(writer) }) }
                if let query { answer = Result { try query.run(writer) } }
                if abort { throw ChatModelAbort() }
            }
        }
        var after = model
        for (index, write) in writes.enumerated() {
            var candidate = after
            let expected = Result { try write.expect(&candidate, try? found[index].get()) }
            switch (found[index], expected) {
            case (.success(let a), .success(let b)) where chatModelSame(a, b):
                after = candidate
                if !abort { learn(a) }
                tallyUp("\(write.kind) ok (transaction)")
            case (.failure(let a), .failure(let b)) where sameError(a, b):
                tallyUp("\(write.kind) \(errorName(b)) (transaction)")
            default:
                var handles = ""
                if case .success(let a) = found[index], case .success(let b) = expected { handles = "\n" + chatModelHandleContrast(a, b) }
                throw failure("in a transaction, \(write.detail):\n" + chatModelContrast(found[index], expected) + handles)
            }
        }
        if let query, let answer {
            let expected = Result { try query.expect(after) }
            try compare("in a transaction, \(query.detail)", answer, expected)
        }
        switch committed {
        case .success where !abort:
            model = after
        case .failure(let error) where abort && error is ChatModelAbort:
            tallyUp("transaction aborted")
            try checkUnchanged(after: nil)
        default:
            throw failure("transaction: \(show(committed))")
        }
        invalidateLive()
        return (writes.count, query == nil ? 0 : 1)
    }

    /// Several writes (whose effects are known in advance) as one transaction, for a crash test:
    /// failing ones are caught inside it, so the commit holds the others, all or none of them.
    func planCrashableTransaction() -> (write: ChatModelWrite, count: Int) {
        var writes: [ChatModelWrite] = []
        while writes.count < rng.int(2...5) {
            let write = planWrite(inTransaction: true)
            if write.crashable { writes.append(write) }
        }
        let bodies = writes.map { $0.viaWriter! }
        let expectations = writes.map(\.expect)
        let write = ChatModelWrite(
            kind: "transaction", detail: "transaction of \(writes.map(\.detail))", conversation: writes.first?.conversation,
            viaDatabase: { database in
                try database.write { writer in
                    for body in bodies {
                        do {
                            _ = try body(writer)
                        } catch let error as ParleyError {
                            // The store's own refusals are caught; a storage failure ends the transaction.
                            if case .storage = error { throw error }
                        }
                    }
                }
                return .none
            },
            expect: { model, _ in
                for expect in expectations {
                    var candidate = model
                    if (try? expect(&candidate, nil)) != nil { model = candidate }
                }
                return .none
            })
        return (write, writes.count)
    }

    /// After a failed write: what it may have touched is as the model has it.
    func checkUnchanged(after write: ChatModelWrite?) throws {
        var keys = ChatDumpKeys()
        keys.lists = false
        if let id = write?.conversation {
            keys.conversations = [id]
            keys.markerPairs = participants(id).map { (user: $0, conversation: id) }
            keys.stateKeys = [.conversation(id)]
        }
        try compareDump("after a failed \(write?.kind ?? "transaction")", keys: keys)
    }

    // MARK: Queries

    func planQuery() -> ChatModelQuery {
        let kind: String = rng.weighted([
            (3, "user"), (1, "users"), (3, "conversation"), (2, "external"), (2, "byStatus"), (4, "message"),
            (14, "messages"), (3, "indices"), (2, "messageCount"), (5, "context"), (2, "marker"), (4, "unreadOne"),
            (2, "unreadAll"), (8, "inbox"), (4, "state"), (0.08, "stats"),
        ])
        let clock = self.clock
        switch kind {
        case "user":
            let handle = rng.chance(0.9) ? rng.pick(handles)! : strangeHandle()
            return ChatModelQuery(
                kind: kind, detail: "user(\(handle))", run: { .user(try $0.user(handle)) }, expect: { .user($0.user(handle)) })
        case "users":
            let after: String? = rng.chance(0.3) ? nil : rng.pick(handles)
            let limit = rng.chance(0.02) ? -1 : rng.int(0...40)
            return ChatModelQuery(
                kind: kind, detail: "users(after: \(after ?? "-"), limit: \(limit))",
                run: { .users(try $0.users(after: after, limit: limit)) },
                expect: { .users(try $0.users(after: after, limit: limit)) })
        case "conversation":
            let id = someConversation()
            return ChatModelQuery(
                kind: kind, detail: "conversation(\(id))", run: { .conversation(try $0.conversation(id)) },
                expect: { .conversation($0.conversation(id)) })
        case "external":
            let pair = rng.pick(externalPairs) ?? ("slack", "none")
            let platform = rng.chance(0.05) ? "web" : pair.0
            return ChatModelQuery(
                kind: kind, detail: "conversation(platform: \(platform), externalID: \(pair.1))",
                run: { .conversation(try $0.conversation(platform: platform, externalID: pair.1)) },
                expect: { .conversation($0.conversation(platform: platform, externalID: pair.1)) })
        case "byStatus":
            let status = rng.pick(ConversationStatus.allCases)!
            let before: Timestamp? = rng.chance(0.4) ? nil : Timestamp(microseconds: now.microseconds - rng.int64(0...20 * 86_400_000_000))
            let limit = rng.chance(0.02) ? -1 : rng.int(0...60)
            return ChatModelQuery(
                kind: kind, detail: "conversations(status: \(status), lastActiveBefore: \(before.map { "\($0)" } ?? "-"), limit: \(limit))",
                run: { .conversations(try $0.conversations(status: status, lastActiveBefore: before, limit: limit)) },
                expect: { .conversations(try $0.conversations(status: status, lastActiveBefore: before, limit: limit)) })
        case "message":
            let id = MessageID(rawValue: UInt64(rng.int(0...Int(model.nextMessageID) + 2)))
            return ChatModelQuery(
                kind: kind, detail: "message(\(id))", run: { .message(try $0.message(id)) }, expect: { .message($0.message(id)) })
        case "messages":
            let id = someConversation()
            let query = messageQuery(for: id)
            return ChatModelQuery(
                kind: kind, detail: "messages(in: \(id), \(describe(query)))",
                run: { .messages(try $0.messages(in: id, query)) },
                expect: { .messages(try $0.messages(in: id, query)) })
        case "indices":
            let id = someConversation()
            let count = model.threads[id]?.messages.count ?? 0
            let lower = rng.chance(0.02) ? -1 : rng.int(0...count + 2)
            let upper = lower + rng.int(0...30)
            let order = rng.pick(MessageOrder.allCases)!
            return ChatModelQuery(
                kind: kind, detail: "messages(in: \(id), indices: \(lower)..<\(upper), order: \(order))",
                run: { .messages(try $0.messages(in: id, indices: lower..<upper, order: order)) },
                expect: { .messages(try $0.messages(in: id, indices: lower..<upper, order: order)) })
        case "messageCount":
            let id = someConversation()
            return ChatModelQuery(
                kind: kind, detail: "messageCount(in: \(id))", run: { .count(try $0.messageCount(in: id)) },
                expect: { .count(try $0.messageCount(in: id)) })
        case "context":
            let id = someConversation()
            let budget: Int = rng.weighted([(2, -1), (5, 0), (40, rng.int(1...400)), (40, rng.int(400...4000)), (13, 1 << 30)])
            return ChatModelQuery(
                kind: kind, detail: "contextWindow(in: \(id), tokenBudget: \(budget))",
                run: { .window(try $0.contextWindow(in: id, tokenBudget: budget)) },
                expect: { .window(try $0.contextWindow(in: id, tokenBudget: budget)) })
        case "marker":
            let id = someConversation()
            let user = rng.pick(participants(id)) ?? rng.pick(handles)!
            return ChatModelQuery(
                kind: kind, detail: "readMarker(user: \(user), conversation: \(id))",
                run: { .marker(try $0.readMarker(user: user, conversation: id)) },
                expect: { .marker($0.readMarker(user: user, conversation: id)) })
        case "unreadOne":
            let id = someConversation()
            let user = rng.chance(0.8) ? (rng.pick(participants(id)) ?? strangeHandle()) : (rng.chance(0.7) ? rng.pick(handles)! : strangeHandle())
            return ChatModelQuery(
                kind: kind, detail: "unreadCount(user: \(user), conversation: \(id))",
                run: { .count(try $0.unreadCount(user: user, conversation: id)) },
                expect: { .count(try $0.unreadCount(user: user, conversation: id)) })
        case "unreadAll":
            let user = rng.chance(0.95) ? rng.pick(handles)! : strangeHandle()
            return ChatModelQuery(
                kind: kind, detail: "unreadCount(user: \(user))", run: { .count(try $0.unreadCount(user: user)) },
                expect: { .count(try $0.unreadCount(user: user)) })
        case "inbox":
            let user = rng.chance(0.97) ? (rng.pick(createdHandles) ?? strangeHandle()) : strangeHandle()
            let query = inboxQuery(for: user)
            return ChatModelQuery(
                kind: kind, detail: "inbox(of: \(user), \(describe(query)))", run: { .inbox(try $0.inbox(of: user, query)) },
                expect: { .inbox(try $0.inbox(of: user, query)) })
        case "state":
            let key = stateKey()
            return ChatModelQuery(
                kind: kind, detail: "state(\(key))", run: { .state(try $0.state(key)) },
                expect: { .state($0.state(key, now: clock.now)) })
        default:
            return ChatModelQuery(
                kind: "stats", detail: "stats()", run: { .stats(ChatModelStats(try $0.stats())) },
                expect: { .stats($0.stats(now: clock.now)) })
        }
    }

    /// A position near the conversation's messages: one of theirs, or one between or beside them.
    func position(near id: ConversationID) -> MessagePosition {
        let messages = model.threads[id]?.messages ?? []
        guard let message = rng.pick(messages) else {
            return MessagePosition(createdAt: now, id: MessageID(rawValue: UInt64(rng.int(0...100))))
        }
        switch rng.int(0..<6) {
        case 0, 1, 2: return message.position
        case 3: return MessagePosition(createdAt: message.createdAt, id: MessageID(rawValue: 0))
        case 4: return MessagePosition(createdAt: message.createdAt, id: MessageID(rawValue: message.id.rawValue + UInt64(rng.int(0...3))))
        default:
            return MessagePosition(
                createdAt: Timestamp(microseconds: message.createdAt.microseconds + rng.int64(-5...5)),
                id: MessageID(rawValue: UInt64(rng.int(0...Int(model.nextMessageID)))))
        }
    }

    func messageQuery(for id: ConversationID) -> MessageQuery {
        var query = MessageQuery(order: rng.pick(MessageOrder.allCases)!)
        switch rng.int(0..<100) {
        case 0..<30: query.limit = nil
        case 30..<35: query.limit = 0
        case 35..<36: query.limit = -1
        default: query.limit = rng.int(1...30)
        }
        if rng.chance(0.3) { query.after = position(near: id) }
        if rng.chance(0.3) { query.before = position(near: id) }
        if rng.chance(0.2) {
            let start = position(near: id).createdAt.microseconds + rng.int64(-2...2)
            let end = start + (rng.chance(0.1) ? 0 : rng.int64(0...6 * 3_600_000_000))
            query.timeRange = Timestamp(microseconds: start)..<Timestamp(microseconds: end)
        }
        if rng.chance(0.2) { query.roles = Set(Role.allCases.filter { _ in rng.chance(0.5) }) }
        if rng.chance(0.15) { query.sender = rng.pick(participants(id)) ?? rng.pick(handles) }
        return query
    }

    func describe(_ query: MessageQuery) -> String {
        "order \(query.order), limit \(query.limit.map { "\($0)" } ?? "-"), after \(query.after.map { "\($0)" } ?? "-"), "
            + "before \(query.before.map { "\($0)" } ?? "-"), time \(query.timeRange.map { "\($0)" } ?? "-"), "
            + "roles \(query.roles.map { "\($0.map(\.rawValue).sorted())" } ?? "-"), "
            + "sender \(query.sender.map { "\($0) \(Array($0.utf8))" } ?? "-")"
    }

    func inboxQuery(for user: String) -> InboxQuery {
        var query = InboxQuery(limit: rng.weighted([(2, -1), (5, 0), (60, rng.int(1...8)), (33, rng.int(9...60))]))
        if rng.chance(0.25) { query.offset = rng.chance(0.03) ? -1 : rng.int(0...6) }
        if rng.chance(0.25) { query.statuses = Set(ConversationStatus.allCases.filter { _ in rng.chance(0.5) }) }
        if rng.chance(0.25) {
            let threads = model.inboxThreads(of: user)
            if let thread = rng.pick(threads), rng.chance(0.8) {
                query.after = InboxCursor(lastActivity: thread.lastActivity, conversation: thread.id)
            } else {
                query.after = InboxCursor(
                    lastActivity: Timestamp(microseconds: now.microseconds - rng.int64(0...5 * 86_400_000_000)),
                    conversation: strangeConversation())
            }
        }
        return query
    }

    func describe(_ query: InboxQuery) -> String {
        "limit \(query.limit), offset \(query.offset), after \(query.after.map { "\($0.lastActivity)/\($0.conversation)" } ?? "-"), "
            + "statuses \(query.statuses.map { "\($0.map(\.rawValue).sorted())" } ?? "-")"
    }

    func compare<T: Equatable & ChatModelHandles>(_ what: String, _ found: Result<T, Error>, _ expected: Result<T, Error>) throws {
        switch (found, expected) {
        case (.success(let a), .success(let b)) where chatModelSame(a, b): return
        case (.success(let a), .success(let b)) where a == b:
            throw failure("\(what):\n" + chatModelHandleContrast(a, b))
        case (.failure(let a), .failure(let b)) where sameError(a, b): return
        default: throw failure("\(what):\n" + chatModelContrast(found, expected))
        }
    }

    func check(_ query: ChatModelQuery) throws {
        let found = Result { try database.read { try query.run($0) } }
        let expected = Result { try query.expect(model) }
        tallyUp("query \(query.kind)")
        try compare(query.detail, found, expected)
    }

    /// Pages through a conversation (by cursor) and an inbox (by cursor and by offset), comparing
    /// every page.
    func checkPaging() throws -> Int {
        var compared = 0
        if let id = rng.pick(liveConversations()), model.threads[id] != nil {
            let forward = rng.chance(0.5)
            let size = rng.int(1...25)
            var cursor: MessagePosition?
            var pages = 0
            while pages < 60 {
                var query = MessageQuery(order: forward ? .oldestFirst : .newestFirst, limit: size)
                if forward { query.after = cursor } else { query.before = cursor }
                let found = Result { try database.messages(in: id, query) }
                let expected = Result { try model.messages(in: id, query) }
                try compare("paging \(id) page \(pages): \(describe(query))", found, expected)
                compared += 1
                guard let last = try found.get().last else { break }
                cursor = last.position
                pages += 1
            }
            tallyUp("paging messages")
        }
        if let user = rng.pick(createdHandles) {
            let size = rng.int(1...7)
            let statuses: Set<ConversationStatus>? = rng.chance(0.3) ? [.active, .new] : nil
            var cursor: InboxCursor?
            var offset = 0
            var pages = 0
            while pages < 60 {
                let byCursor = InboxQuery(limit: size, after: cursor, statuses: statuses)
                let found = Result { try database.inbox(of: user, byCursor) }
                try compare("inbox of \(user) page \(pages): \(describe(byCursor))", found, Result { try model.inbox(of: user, byCursor) })
                let byOffset = InboxQuery(limit: size, offset: offset, statuses: statuses)
                try compare(
                    "inbox of \(user) page \(pages): \(describe(byOffset))", Result { try database.inbox(of: user, byOffset) },
                    Result { try model.inbox(of: user, byOffset) })
                compared += 2
                guard let last = try found.get().last else { break }
                cursor = last.cursor
                offset += size
                pages += 1
            }
            tallyUp("paging inbox")
        }
        return compared
    }
}
