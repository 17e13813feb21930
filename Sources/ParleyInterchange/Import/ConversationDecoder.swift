// One parsed line to the conversation it describes: every field checked and converted before
// anything is written, so that a bad line is refused whole.

import Parley

/// A line refused before it reached the store, with the reason.
struct LineFailure: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// A conversation read from one line, ready to store.
struct DecodedConversation {
    var platform: String?
    var externalID: String?
    var title: String?
    /// Set after the messages are appended (so a closed conversation still gets them).
    var status: ConversationStatus?
    /// The participants, then every sender missing from them, each once, in order of appearance.
    var handles: [String] = []
    var metadata: Metadata?
    var messages: [NewMessage] = []
    /// The earliest message time: the conversation's creation time.
    var createdAt: Timestamp?
    /// Messages given a made-up time.
    var timestampsMadeUp = 0
}

/// Reads the conversation shape of the JSON Lines format (see ``Importer``).
enum ConversationDecoder {
    /// Decodes one line's value. Made-up times continue from `madeUpBefore` (times made up by
    /// the lines stored before this one): the n-th is `baseTime` plus n seconds.
    static func decode(_ value: JSONValue, madeUpBefore: Int, baseTime: Timestamp) throws -> DecodedConversation {
        guard case .object(let line) = value else { throw LineFailure("a line must be a JSON object, not \(value.kindName)") }
        var out = DecodedConversation()
        let id = try optionalString(line["id"], "id")
        out.platform = try optionalString(line["platform"], "platform")
        out.externalID = try optionalString(line["external_id"], "external_id")
        switch (out.platform, out.externalID) {
        case (.some(let platform), .some(let externalID)):
            try checkName(platform, "platform")
            try checkName(externalID, "external_id")
        case (nil, nil):
            // A foreign id is kept as (import, id): see Importer.foreignIDPlatform.
            if let id {
                try checkName(id, "id")
                out.platform = Importer.foreignIDPlatform
                out.externalID = id
            }
        default:
            throw LineFailure("platform and external_id must be given together")
        }
        out.title = try optionalString(line["title"], "title")
        if let status = try optionalString(line["status"], "status") {
            guard let parsed = ConversationStatus(rawValue: status) else { throw LineFailure("unknown status \(quoted(status))") }
            out.status = parsed
        }
        out.metadata = line["metadata"].map(\.metadata)

        var handles = HandleSet()
        switch line["participants"] {
        case nil, .null?:
            throw LineFailure("missing participants")
        case .array(let items)?:
            for (index, item) in items.enumerated() {
                guard case .string(let handle) = item else { throw LineFailure("participants[\(index)] must be a string") }
                try handles.insert(handle, "participants[\(index)]")
            }
        case let other?:
            throw LineFailure("participants must be an array of strings, not \(other.kindName)")
        }

        var madeUp = 0
        switch line["messages"] {
        case nil, .null?:
            break
        case .array(let items)?:
            out.messages.reserveCapacity(items.count)
            for (index, item) in items.enumerated() {
                let place = "messages[\(index)]"
                var message = try decodeMessage(item, place)
                if message.createdAt == nil {
                    message.createdAt = try madeUpTime(baseTime, madeUpBefore, madeUp, place)
                    madeUp += 1
                }
                try handles.insert(message.sender, "\(place).sender")
                if let time = message.createdAt, out.createdAt.map({ time < $0 }) ?? true { out.createdAt = time }
                out.messages.append(message)
            }
        case let other?:
            throw LineFailure("messages must be an array, not \(other.kindName)")
        }
        out.handles = handles.ordered
        out.timestampsMadeUp = madeUp
        return out
    }

    private static func decodeMessage(_ value: JSONValue, _ place: String) throws -> NewMessage {
        guard case .object(let fields) = value else { throw LineFailure("\(place) must be an object, not \(value.kindName)") }
        guard let sender = try optionalString(fields["sender"], "\(place).sender") else { throw LineFailure("\(place): missing sender") }
        try checkName(sender, "\(place).sender")
        guard let text = try optionalString(fields["text"], "\(place).text") else { throw LineFailure("\(place): missing text") }
        var message = NewMessage(sender: sender, text: text)
        if let role = try optionalString(fields["role"], "\(place).role") {
            guard let parsed = Role(rawValue: role) else { throw LineFailure("\(place): unknown role \(quoted(role))") }
            message.role = parsed
        }
        message.createdAt = try timestamp(fields["created_at"], "\(place).created_at")
        if let contentType = try optionalString(fields["content_type"], "\(place).content_type") {
            try checkName(contentType, "\(place).content_type")
            message.contentType = contentType
        }
        if let tokens = try optionalInteger(fields["tokens"], "\(place).tokens") {
            guard tokens >= 0, tokens <= Int64(Int32.max) else {
                throw LineFailure("\(place).tokens must be 0 to \(Int32.max), not \(tokens)")
            }
            message.tokens = Int(tokens)
        }
        if let status = try optionalString(fields["status"], "\(place).status") {
            guard let parsed = MessageStatus(rawValue: status) else { throw LineFailure("\(place): unknown message status \(quoted(status))") }
            message.status = parsed
        }
        message.metadata = fields["metadata"].map(\.metadata)
        switch fields["attachments"] {
        case nil, .null?:
            break
        case .array(let items)?:
            message.attachments = try items.enumerated().map { index, item in
                try decodeAttachment(item, "\(place).attachments[\(index)]")
            }
        case let other?:
            throw LineFailure("\(place).attachments must be an array, not \(other.kindName)")
        }
        return message
    }

    private static func decodeAttachment(_ value: JSONValue, _ place: String) throws -> Attachment {
        guard case .object(let fields) = value else { throw LineFailure("\(place) must be an object, not \(value.kindName)") }
        guard let uri = try optionalString(fields["uri"], "\(place).uri") else { throw LineFailure("\(place): missing uri") }
        guard let mimeType = try optionalString(fields["mime_type"], "\(place).mime_type") else {
            throw LineFailure("\(place): missing mime_type")
        }
        try checkName(mimeType, "\(place).mime_type")
        guard let size = try optionalInteger(fields["size"], "\(place).size") else { throw LineFailure("\(place): missing size") }
        guard size >= 0 else { throw LineFailure("\(place).size must not be negative") }
        let name = try optionalString(fields["name"], "\(place).name")
        return Attachment(uri: uri, mimeType: mimeType, size: size, name: name)
    }

    // MARK: - Fields

    /// An RFC 3339 string or integer microseconds since the epoch; nil when absent or null.
    private static func timestamp(_ value: JSONValue?, _ place: String) throws -> Timestamp? {
        switch value {
        case nil, .null?: return nil
        case .int(let micros)?: return Timestamp(microseconds: micros)
        case .string(let text)?:
            guard let time = RFC3339.parse(text) else { throw LineFailure("\(place) is not an RFC 3339 date-time: \(quoted(text))") }
            return time
        case let other?:
            throw LineFailure("\(place) must be an RFC 3339 string or integer microseconds, not \(other.kindName)")
        }
    }

    /// `baseTime` plus `before + index` seconds, without overflow.
    private static func madeUpTime(_ baseTime: Timestamp, _ before: Int, _ index: Int, _ place: String) throws -> Timestamp {
        let (count, overflow1) = Int64(before).addingReportingOverflow(Int64(index))
        let (offset, overflow2) = count.multipliedReportingOverflow(by: 1_000_000)
        let (micros, overflow3) = baseTime.microseconds.addingReportingOverflow(offset)
        guard !overflow1, !overflow2, !overflow3 else { throw LineFailure("\(place): a made-up created_at is out of range") }
        return Timestamp(microseconds: micros)
    }

    private static func optionalString(_ value: JSONValue?, _ place: String) throws -> String? {
        switch value {
        case nil, .null?: return nil
        case .string(let text)?: return text
        case let other?: throw LineFailure("\(place) must be a string, not \(other.kindName)")
        }
    }

    private static func optionalInteger(_ value: JSONValue?, _ place: String) throws -> Int64? {
        switch value {
        case nil, .null?: return nil
        case .int(let number)?: return number
        case let other?: throw LineFailure("\(place) must be an integer, not \(other.kindName)")
        }
    }

    /// The store's rule for handles, platforms, external ids and content types, checked early so
    /// the store never sees a key it cannot hold.
    static func checkName(_ value: String, _ place: String) throws {
        let length = value.utf8.count
        guard length > 0, length <= Limits.maximumNameBytes else {
            throw LineFailure("\(place) must be 1 to \(Limits.maximumNameBytes) bytes of UTF-8, not \(length)")
        }
    }
}

/// Handles in order of first appearance, each once. Two handles that Swift's `String` compares
/// equal (canonically equivalent Unicode) but whose UTF-8 differs are refused: the store keys
/// users by their UTF-8 bytes but collects handles in Swift sets, so it cannot tell them apart.
private struct HandleSet {
    private(set) var ordered: [String] = []
    private var seen: [String: String] = [:]

    mutating func insert(_ handle: String, _ place: String) throws {
        try ConversationDecoder.checkName(handle, place)
        if let existing = seen[handle] {
            guard existing.utf8.elementsEqual(handle.utf8) else {
                throw LineFailure("\(place): handles \(quoted(existing)) and \(quoted(handle)) differ only in Unicode normalization")
            }
            return
        }
        seen[handle] = handle
        ordered.append(handle)
    }
}
