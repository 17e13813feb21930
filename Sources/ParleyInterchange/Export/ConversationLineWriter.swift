// One conversation as one line of JSON, keys in a fixed order (documented on `Exporter`).

import Parley

/// Writes the pieces of a conversation's line: its head, each message, its end.
enum ConversationLineWriter {
    /// How a line names its conversation.
    enum Identity {
        /// `"id"`: a foreign id an import kept, or the conversation's UUID.
        case id(String)
        /// `"platform"` and `"external_id"`.
        case platform(String, externalID: String)
    }

    /// A foreign id kept by an import (platform "import") goes back out as the id it came in
    /// as; another platform as itself; no platform as the conversation's UUID.
    static func identity(of conversation: Conversation) -> Identity {
        guard let platform = conversation.platform, let externalID = conversation.externalID else {
            return .id(conversation.id.description)
        }
        if platform == Importer.foreignIDPlatform { return .id(externalID) }
        return .platform(platform, externalID: externalID)
    }

    /// `{` and every key before the messages, then `"messages":[`.
    static func writeHead(_ conversation: Conversation, into writer: inout JSONWriter) {
        writer.beginObject()
        switch identity(of: conversation) {
        case .id(let id):
            writer.key("id")
            writer.string(id)
        case .platform(let platform, let externalID):
            writer.key("platform")
            writer.string(platform)
            writer.key("external_id")
            writer.string(externalID)
        }
        if let title = conversation.title {
            writer.key("title")
            writer.string(title)
        }
        writer.key("status")
        writer.string(conversation.status.rawValue)
        writer.key("participants")
        writer.beginArray()
        for handle in conversation.participants { writer.string(handle) }
        writer.endArray()
        if let metadata = conversation.metadata {
            writer.key("metadata")
            writer.metadata(metadata)
        }
        writer.key("messages")
        writer.beginArray()
    }

    /// One message object.
    static func writeMessage(_ message: Message, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("sender")
        writer.string(message.sender)
        writer.key("role")
        writer.string(message.role.rawValue)
        writer.key("text")
        writer.string(message.text)
        writer.key("created_at")
        writer.int(message.createdAt.microseconds)
        if message.contentType != "text/plain" {
            writer.key("content_type")
            writer.string(message.contentType)
        }
        writer.key("tokens")
        writer.int(Int64(message.tokens))
        if message.status != .complete {
            writer.key("status")
            writer.string(message.status.rawValue)
        }
        if let metadata = message.metadata {
            writer.key("metadata")
            writer.metadata(metadata)
        }
        if !message.attachments.isEmpty {
            writer.key("attachments")
            writer.beginArray()
            for attachment in message.attachments {
                writer.beginObject()
                writer.key("uri")
                writer.string(attachment.uri)
                writer.key("mime_type")
                writer.string(attachment.mimeType)
                writer.key("size")
                writer.int(attachment.size)
                if let name = attachment.name {
                    writer.key("name")
                    writer.string(name)
                }
                writer.endObject()
            }
            writer.endArray()
        }
        writer.endObject()
    }

    /// `]}` and the line's LF.
    static func writeEnd(into writer: inout JSONWriter) {
        writer.endArray()
        writer.endObject()
        writer.bytes.append(0x0A)
    }
}
