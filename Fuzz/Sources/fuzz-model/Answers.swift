// Questions answered twice: by the store (through a ChatReader) and by the model (brute force),
// and mutations performed twice. The runner compares the outcomes.

import Parley

enum StoreSide {
    static func answer(_ question: Question, _ reader: ChatReader) throws -> Outcome {
        switch question {
        case .user(let handle): return .user(try reader.user(handle))
        case .conversation(let id): return .conversation(try reader.conversation(id))
        case .external(let platform, let externalID): return .conversation(try reader.conversation(platform: platform, externalID: externalID))
        case .messages(let id, let query): return .messages(try reader.messages(in: id, query))
        case .page(let id, let indices, let order): return .messages(try reader.messages(in: id, indices: indices, order: order))
        case .context(let id, let budget): return .window(try reader.contextWindow(in: id, tokenBudget: budget))
        case .inbox(let user, let query): return .inbox(try reader.inbox(of: user, query))
        case .unread(let user, let id?): return .count(try reader.unreadCount(user: user, conversation: id))
        case .unread(let user, nil): return .count(try reader.unreadCount(user: user))
        case .marker(let user, let id): return .marker(try reader.readMarker(user: user, conversation: id))
        case .state(let key): return .state(try reader.state(key))
        case .message(let id): return .message(try reader.message(id))
        case .stats:
            let stats = try reader.stats()
            return .totals([stats.users, stats.conversations, stats.activeConversations30d, stats.messages, stats.messages30d, stats.tokens])
        }
    }

    static func perform(_ mutation: Mutation, _ database: Database) throws -> Outcome {
        switch mutation {
        case .upsertUser(let handle, let name, let metadata):
            return .user(try database.upsertUser(handle, displayName: name, metadata: metadata))
        case .create(let new): return .created(try database.createConversation(new))
        case .append(let id, let batch):
            // One message through the single-message call, more through the batch call.
            if batch.count == 1 { return .messages([try database.append(batch[0], to: id)]) }
            return .messages(try database.append(contentsOf: batch, to: id))
        case .markRead(let user, let id, let message):
            try database.markRead(user: user, conversation: id, through: message)
            return .done
        case .setState(let key, let value, let ttl):
            try database.setState(key, value: value, ttl: ttl)
            return .done
        case .touchState(let key, let ttl): return .flag(try database.touchState(key, ttl: ttl))
        case .deleteState(let key): return .flag(try database.deleteState(key))
        case .archive(let days): return .count(try database.archiveConversations(inactiveForDays: days))
        case .purge(let days): return .count(try database.purgeMessages(olderThanDays: days))
        case .delete(let id):
            try database.deleteConversation(id)
            return .done
        case .setStatus(let id, let status):
            try database.setStatus(status, of: id)
            return .done
        case .join(let handle, let id): return .flag(try database.write { try $0.addParticipant(handle, to: id) })
        case .leave(let handle, let id):
            try database.write { try $0.removeParticipant(handle, from: id) }
            return .done
        case .checkpoint:
            try database.checkpoint()
            return .done
        }
    }
}

extension ChatModel {
    func answer(_ question: Question, now: Timestamp) throws -> Outcome {
        switch question {
        case .user(let handle): return .user(users[Self.bytes(handle)])
        case .conversation(let id): return .conversationValue(threads[id]?.value)
        case .external(let platform, let externalID):
            return .conversationValue(externals[External(platform: platform, externalID: externalID)].flatMap { threads[$0]?.value })
        case .messages(let id, let query):
            var found = try thread(id).messages.filter { message in
                if let after = query.after, message.position <= after { return false }
                if let before = query.before, message.position >= before { return false }
                if let range = query.timeRange, !range.contains(message.createdAt) { return false }
                if let roles = query.roles, !roles.contains(message.role) { return false }
                if let sender = query.sender, Self.bytes(sender) != Self.bytes(message.sender) { return false }
                return true
            }
            if query.order == .newestFirst { found.reverse() }
            return .messageValues(Array(found.prefix(query.limit ?? .max)))
        case .page(let id, let indices, let order):
            let all = try thread(id).messages
            let ordered = order == .oldestFirst ? all : all.reversed()
            guard indices.lowerBound < ordered.count else { return .messageValues([]) }
            return .messageValues(Array(ordered[indices.lowerBound..<min(indices.upperBound, ordered.count)]))
        case .context(let id, let budget):
            let all = try thread(id).messages
            guard budget >= 0 else { throw Self.invalid }
            let system = all.filter { $0.role == .system }
            var tokens = system.reduce(0) { $0 + $1.tokens }
            let systemOverBudget = tokens > budget
            var recent: [MessageValue] = []
            var truncated = false
            for message in all.reversed() where message.role != .system {
                if tokens + message.tokens > budget {
                    truncated = true
                    break
                }
                tokens += message.tokens
                recent.append(message)
            }
            let messages = (system + recent).sorted { $0.position < $1.position }
            return .windowValue(WindowValue(messages: messages, tokens: tokens, truncated: truncated, systemOverBudget: systemOverBudget))
        case .inbox(let user, let query):
            try requireUser(user)
            return .inboxValues(inbox(of: user, query))
        case .unread(let user, let id?):
            let thread = try thread(id)
            try requireUser(user)
            return .count(thread.unread(Self.bytes(user)))
        case .unread(let user, nil):
            try requireUser(user)
            return .count(conversations(of: user).reduce(0) { $0 + $1.unread(Self.bytes(user)) })
        case .marker(let user, let id): return .marker(threads[id]?.markers[Self.bytes(user)])
        case .state(let key): return .stateValue(state(key, now: now))
        case .message(let id):
            return .messageValue(threads.values.lazy.compactMap { $0.messages.first { $0.id == id } }.first)
        case .stats:
            let cutoff = now.adding(seconds: -30 * 86_400)
            let recent = threads.values.filter { $0.lastActivity >= cutoff }
            let messages = threads.values.reduce(0) { $0 + $1.messages.count }
            return .totals([
                users.count, threads.count, recent.count, messages,
                recent.reduce(0) { $0 + $1.messages.filter { $0.createdAt >= cutoff }.count },
                threads.values.reduce(0) { $0 + $1.messages.reduce(0) { $0 + $1.tokens } },
            ])
        }
    }

    /// `user`'s conversations in inbox order: most recent activity first, then id bytes.
    func conversations(of user: String) -> [ModelThread] {
        threads.values.filter { $0.participants[Self.bytes(user)] != nil }.sorted {
            $0.lastActivity != $1.lastActivity ? $0.lastActivity > $1.lastActivity : $0.id < $1.id
        }
    }

    func inbox(of user: String, _ query: InboxQuery) -> [InboxValue] {
        var list = conversations(of: user)
        if let after = query.after {
            list.removeAll { !($0.lastActivity < after.lastActivity || ($0.lastActivity == after.lastActivity && $0.id > after.conversation)) }
        }
        if let statuses = query.statuses { list.removeAll { !statuses.contains($0.status) } }
        return list.dropFirst(query.offset).prefix(query.limit).map {
            InboxValue(conversation: $0.value, lastMessage: $0.messages.last, unreadCount: $0.unread(Self.bytes(user)))
        }
    }

    /// Performs `mutation`; `created` is the id the store gave a new conversation.
    mutating func perform(_ mutation: Mutation, created: ConversationID?, now: Timestamp) throws -> Outcome {
        switch mutation {
        case .upsertUser(let handle, let name, let metadata):
            return .user(try upsertUser(handle, displayName: name, metadata: metadata, now: now))
        case .create(let new):
            guard let created else {
                try validate(new)
                return .done  // the store failed where the model does not: the outcomes differ
            }
            try create(new, id: created, now: now)
            return .created(created)
        case .append(let id, let batch): return .messageValues(try append(batch, to: id, now: now))
        case .markRead(let user, let id, let message):
            try markRead(user: user, conversation: id, through: message)
            return .done
        case .setState(let key, let value, let ttl):
            try setState(key, value: value, ttl: ttl, now: now)
            return .done
        case .touchState(let key, let ttl): return .flag(try touchState(key, ttl: ttl, now: now))
        case .deleteState(let key): return .flag(deleteState(key, now: now))
        case .archive(let days): return .count(try archive(inactiveForDays: days, now: now))
        case .purge(let days): return .count(try purge(olderThanDays: days, now: now))
        case .delete(let id):
            try delete(id)
            return .done
        case .setStatus(let id, let status):
            try setStatus(status, of: id)
            return .done
        case .join(let handle, let id): return .flag(try join(handle, id))
        case .leave(let handle, let id):
            try leave(handle, id)
            return .done
        case .checkpoint: return .done
        }
    }
}
