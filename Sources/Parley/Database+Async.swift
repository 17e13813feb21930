// Swift concurrency: transactions run on the database's own threads (Dispatch queues), never on
// the cooperative pool, so a write waiting for the writer or an fsync blocks no task executor.

import Dispatch

final class AsyncQueues: Sendable {
    let reads = DispatchQueue(label: "parley.reads", attributes: .concurrent)
    let writes = DispatchQueue(label: "parley.writes")
}

extension Database {
    /// Runs `body` on a snapshot, off the cooperative thread pool.
    public func read<R: Sendable>(_ body: @escaping @Sendable (ChatReader) throws -> R) async throws -> R {
        try await withCheckedThrowingContinuation { continuation in
            asyncQueues.reads.async {
                continuation.resume(with: Result { try self.read(body) })
            }
        }
    }

    /// Runs `body` in the write transaction and commits it, off the cooperative thread pool.
    public func write<R: Sendable>(
        durability: Durability? = nil, _ body: @escaping @Sendable (ChatWriter) throws -> R
    ) async throws -> R {
        try await withCheckedThrowingContinuation { continuation in
            asyncQueues.writes.async {
                continuation.resume(with: Result { try self.write(durability: durability, body) })
            }
        }
    }

    /// Appends one message, off the cooperative thread pool.
    @discardableResult
    public func append(_ message: NewMessage, to conversation: ConversationID, durability: Durability? = nil) async throws -> Message {
        try await write(durability: durability) { try $0.append(message, to: conversation) }
    }

    /// A page of a conversation's messages, off the cooperative thread pool.
    public func messages(in conversation: ConversationID, _ query: MessageQuery = MessageQuery()) async throws -> [Message] {
        try await read { try $0.messages(in: conversation, query) }
    }

    /// A user's inbox page, off the cooperative thread pool.
    public func inbox(of user: String, _ query: InboxQuery = InboxQuery()) async throws -> [InboxEntry] {
        try await read { try $0.inbox(of: user, query) }
    }
}
