// A command's words after its name: positional arguments, `--option value` pairs and `--switch`
// flags, checked against what the command declares.

import Parley
import ParleyInterchange

struct Arguments {
    var positional: [String] = []
    var options: [String: String] = [:]
    var switches: Set<String> = []
    let usage: String

    init(_ words: [String], options allowed: Set<String> = [], switches allowedSwitches: Set<String> = [], usage: String) throws {
        self.usage = usage
        var index = 0
        while index < words.count {
            let word = words[index]
            index += 1
            guard word.hasPrefix("--"), word.count > 2 else {
                positional.append(word)
                continue
            }
            let name = String(word.dropFirst(2))
            if allowedSwitches.contains(name) {
                switches.insert(name)
            } else if allowed.contains(name) {
                guard index < words.count else { throw ShellError.usage("--\(name) needs a value; usage: \(usage)") }
                options[name] = words[index]
                index += 1
            } else {
                throw ShellError.usage("unknown option --\(name); usage: \(usage)")
            }
        }
    }

    /// Exactly `range` positional arguments.
    func expect(_ range: ClosedRange<Int>) throws {
        guard range.contains(positional.count) else { throw ShellError.usage("usage: \(usage)") }
    }

    func positional(_ index: Int) throws -> String {
        guard index < positional.count else { throw ShellError.usage("usage: \(usage)") }
        return positional[index]
    }

    func conversation(_ index: Int) throws -> ConversationID {
        let text = try positional(index)
        guard let id = ConversationID(text) else { throw ShellError.usage("\"\(text)\" is not a conversation id (a UUID)") }
        return id
    }

    func integer(_ name: String) throws -> Int? {
        guard let text = options[name] else { return nil }
        guard let value = Int(text) else { throw ShellError.usage("--\(name) needs an integer, got \"\(text)\"") }
        return value
    }

    func number(_ name: String) throws -> Double? {
        guard let text = options[name] else { return nil }
        guard let value = Double(text), value.isFinite else { throw ShellError.usage("--\(name) needs a number, got \"\(text)\"") }
        return value
    }

    func json(_ name: String) throws -> Metadata? {
        guard let text = options[name] else { return nil }
        do {
            return try JSONText.metadata(text)
        } catch {
            throw ShellError.usage("--\(name) needs JSON: \(error)")
        }
    }

    func time(_ name: String) throws -> Timestamp? {
        guard let text = options[name] else { return nil }
        return try Self.time(text)
    }

    /// RFC 3339 or integer microseconds since the epoch.
    static func time(_ text: String) throws -> Timestamp {
        if let micros = Int64(text) { return Timestamp(microseconds: micros) }
        if let time = RFC3339Time.parse(text) { return time }
        throw ShellError.usage("\"\(text)\" is not a time (RFC 3339, or integer microseconds)")
    }

    static func integer(_ text: String, _ what: String) throws -> Int {
        guard let value = Int(text) else { throw ShellError.usage("\(what) must be an integer, got \"\(text)\"") }
        return value
    }

    static func messageID(_ text: String) throws -> MessageID {
        guard let value = UInt64(text) else { throw ShellError.usage("\"\(text)\" is not a message id") }
        return MessageID(rawValue: value)
    }

    static func role(_ text: String) throws -> Role {
        guard let role = Role(rawValue: text) else {
            throw ShellError.usage("unknown role \"\(text)\" (user, assistant, system, tool)")
        }
        return role
    }

    static func status(_ text: String) throws -> ConversationStatus {
        guard let status = ConversationStatus(rawValue: text) else {
            throw ShellError.usage("unknown status \"\(text)\" (new, active, archived, closed)")
        }
        return status
    }

    /// A state key: a conversation id, else a custom key.
    static func stateKey(_ text: String) -> StateKey {
        if let id = ConversationID(text) { return .conversation(id) }
        return .custom(text)
    }
}
