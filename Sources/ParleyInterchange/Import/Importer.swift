// JSON Lines import: one conversation per line, each stored in its own write transaction.

import Parley

/// Imports conversations from JSON Lines, plain or gzipped (recognised by the bytes 1f 8b), read
/// as a stream: one line in memory at a time.
///
/// Each non-empty line is one conversation:
///
/// ```json
/// {"id": "sgd/dev/1_00000", "participants": ["USER", "SYSTEM"],
///  "messages": [{"sender": "USER", "text": "Hi"}, {"sender": "SYSTEM", "role": "assistant", "text": "Hello"}]}
/// ```
///
/// Keys of a line: `id`, `platform`, `external_id`, `title`, `status` (`new`, `active`,
/// `archived`, `closed`), `participants` (required: an array of handles), `metadata` (any JSON
/// value) and `messages`. Keys of a message: `sender` and `text` (required), `role` (`user` by
/// default; `assistant`, `system`, `tool`), `created_at` (an RFC 3339 string or integer
/// microseconds since the epoch), `content_type`, `tokens`, `status` (`complete`, `incomplete`,
/// `failed`), `metadata` and `attachments` (objects with `uri`, `mime_type`, `size` and an
/// optional `name`). A `null` value is the same as a missing key, except for `metadata`, where it
/// is the JSON null. Other keys are ignored.
///
/// **Identity.** With `platform` and `external_id`, the conversation gets them (and `id` is
/// ignored). With neither, an `id` (any string, a UUID included) is kept as platform
/// ``foreignIDPlatform`` (`"import"`) and external id `id`; the database makes its own
/// conversation id either way. Importing the same file twice therefore fails on the first line
/// with a duplicate (platform, external id) instead of making copies; so does a line whose `id`
/// is the UUID of a conversation of the database being imported into (its own export).
/// ``Exporter`` writes an ("import", id) conversation back as `"id": <id>`, which makes
/// export → import → export give the same bytes.
///
/// **Users.** Every participant and sender is created as a user when missing; a sender missing
/// from `participants` is added to them.
///
/// **Times.** A message without `created_at` gets a made-up one: ``ImportOptions/baseTime`` plus
/// one second per such message, counted in file order over the conversations stored (the count
/// is ``ImportSummary/timestampsMadeUp``). A conversation's creation time is its earliest
/// message's (now, when it has none).
///
/// **Errors.** Each conversation is validated whole, then stored in one transaction, so a bad
/// line stores nothing. A bad line (invalid JSON or UTF-8, a missing or mistyped field, an
/// unknown role or status, a bad `created_at`, or anything the store refuses, such as a
/// duplicate external id) throws ``InterchangeError/badLine(line:reason:)`` and stops the
/// import, with everything before it stored, unless ``ImportOptions/skipBad`` is set. Storage
/// failures (`ParleyError.storage`) and I/O errors always stop it. Empty lines are skipped.
public enum Importer {
    /// The platform under which a line's foreign `id` is kept as the external id, when the line
    /// has no platform of its own.
    public static let foreignIDPlatform = "import"

    /// Imports JSON Lines held in memory (gzipped or not).
    @discardableResult
    public static func importLines(
        _ bytes: [UInt8], into database: Database, options: ImportOptions = ImportOptions()
    ) throws -> ImportSummary {
        try run(MemoryChunkSource(bytes), totalBytes: bytes.count, into: database, options: options)
    }

    /// Imports the JSON Lines file at `path` (gzipped or not), reading it as a stream.
    @discardableResult
    public static func importFile(
        path: String, into database: Database, options: ImportOptions = ImportOptions()
    ) throws -> ImportSummary {
        let file = try FileChunkSource(path: path)
        return try run(file, totalBytes: file.size, into: database, options: options)
    }

    // MARK: - The import loop

    private static func run(
        _ raw: any ChunkSource, totalBytes: Int?, into database: Database, options: ImportOptions
    ) throws -> ImportSummary {
        var summary = ImportSummary()
        var throttle = ProgressThrottle(interval: options.progressInterval)
        func report() {
            summary.bytesRead = raw.bytesConsumed
            options.progress?(ImportProgress(lines: summary.lines, bytesRead: summary.bytesRead, totalBytes: totalBytes))
        }
        do {
            let lines = LineReader(source: try decompressingIfNeeded(raw), maximumLineBytes: options.maximumLineBytes)
            while let line = try lines.next() {
                summary.lines = lines.lineNumber
                do {
                    switch line {
                    case .tooLong:
                        throw LineFailure("the line is longer than \(options.maximumLineBytes) bytes")
                    case .line(let bytes):
                        if !isBlank(bytes) { try importLine(bytes, into: database, options: options, summary: &summary) }
                    }
                } catch let failure as LineFailure {
                    guard options.skipBad else { throw InterchangeError.badLine(line: lines.lineNumber, reason: failure.reason) }
                    summary.linesSkipped += 1
                    if summary.skipped.count < options.maximumReportedSkips {
                        summary.skipped.append(SkippedLine(line: lines.lineNumber, reason: failure.reason))
                    }
                }
                if options.progress != nil, throttle.due() { report() }
            }
        } catch {
            // What was stored stays stored, and durable.
            try? database.flush()
            throw error
        }
        try database.flush()
        report()
        return summary
    }

    /// Parses, checks and stores one line; throws `LineFailure` for a bad line.
    private static func importLine(
        _ bytes: [UInt8], into database: Database, options: ImportOptions, summary: inout ImportSummary
    ) throws {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch let error as JSONSyntaxError {
            throw LineFailure(error.reason)
        }
        let conversation = try ConversationDecoder.decode(
            value, madeUpBefore: summary.timestampsMadeUp, baseTime: options.baseTime)
        let stored: (users: Int, messages: Int)
        do {
            stored = try database.write(durability: options.durability) { chat in try store(conversation, in: chat) }
        } catch let error as ParleyError {
            if case .storage = error { throw error }
            throw LineFailure(error.description)
        }
        summary.conversations += 1
        summary.messages += stored.messages
        summary.usersCreated += stored.users
        summary.timestampsMadeUp += conversation.timestampsMadeUp
    }

    /// Stores one decoded conversation inside a write transaction; returns the users created and
    /// the messages stored.
    private static func store(_ conversation: DecodedConversation, in chat: ChatWriter) throws -> (users: Int, messages: Int) {
        // An id that names a conversation of this very database (an export of it, imported
        // back) is a duplicate too, not a new conversation.
        if conversation.platform == foreignIDPlatform, let externalID = conversation.externalID,
            let id = ConversationID(externalID), try chat.conversation(id) != nil
        {
            throw LineFailure("conversation \(id) exists in this database")
        }
        var created = 0
        for handle in conversation.handles where try chat.user(handle) == nil {
            try chat.upsertUser(handle)
            created += 1
        }
        let id = try chat.createConversation(
            NewConversation(
                participants: conversation.handles, platform: conversation.platform, externalID: conversation.externalID,
                title: conversation.title, metadata: conversation.metadata, createdAt: conversation.createdAt))
        let messages = try chat.append(contentsOf: conversation.messages, to: id)
        if let status = conversation.status { try chat.setStatus(status, of: id) }
        return (created, messages.count)
    }

    /// True when a line holds only JSON whitespace.
    private static func isBlank(_ bytes: [UInt8]) -> Bool {
        bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }
    }
}
