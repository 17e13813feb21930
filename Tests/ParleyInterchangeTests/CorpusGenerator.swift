// Random conversations in the JSON Lines import format, written with varied (but valid) JSON:
// escapes chosen at random, spaces here and there, every kind of metadata, explicit and missing
// created_at in both of their forms.

import Foundation

/// Generates an import corpus from a seed, and counts what it wrote.
struct CorpusGenerator {
    private var random: SeededGenerator
    /// The corpus, one conversation per line.
    private(set) var lines: [[UInt8]] = []
    private(set) var messageCount = 0
    /// Messages written without `created_at`.
    private(set) var missingTimes = 0
    private(set) var handles: Set<[UInt8]> = []
    private var lineCounter = 0

    /// Whether some lines have neither `id` nor platform (their export carries the UUID the
    /// database made, so two imports of the corpus export differently).
    private let anonymous: Bool

    init(seed: UInt64, anonymous: Bool = true) {
        random = SeededGenerator(seed: seed)
        self.anonymous = anonymous
    }

    /// The corpus as one byte string, lines ending in LF.
    var bytes: [UInt8] { lines.flatMap { $0 + [0x0A] } }

    static let handlePool = [
        "alice", "bob", "Ünïcødé", "用户", "🤖bot", "quote\"d", "back\\slash", "tab\tuser", "new\nline", "zoë",
        "USER", "SYSTEM", "a", "ñandú", "Ωmega", "emoji👩‍👩‍👧",
    ]

    static let textPool = [
        "", "Hello!", "Where is my order?", "Ünïcødé ✓ — “quotes” ‘and’ «more»", "emoji 😀👍🏽🇫🇷👩‍💻", "中文 日本語 한국어",
        "quote \" backslash \\ slash /", "control \u{01}\u{02}\u{1F} bell \u{07} nul \u{00} del \u{7F}", "tab\tnewline\ncr\r",
        "line sep \u{2028} para sep \u{2029}", "combining e\u{0301} vs é", "</script><!-- -->", "{\"json\": [1, 2]}",
        String(repeating: "long text ", count: 150),
    ]

    /// Adds `count` random conversations.
    mutating func addConversations(_ count: Int) {
        for _ in 0..<count { lines.append(Array(conversation().utf8)) }
    }

    /// Adds a line as given (for special cases).
    mutating func addLine(_ line: String) { lines.append(Array(line.utf8)) }

    // MARK: - Conversations

    private mutating func conversation() -> String {
        lineCounter += 1
        var members: [(String, String)] = []
        switch Int.random(in: 0..<4, using: &random) {
        case 0:
            members.append(("platform", string(["slack", "discord", "matrix", "plätform"].randomElement(using: &random) ?? "x")))
            members.append(("external_id", string("C\(lineCounter)-\(Int.random(in: 0..<1_000_000, using: &random))")))
        case 1:
            members.append(("id", string("corpus/train/x#\(lineCounter)")))
        case 2:
            members.append(("id", string(uuid())))
        default:
            if !anonymous { members.append(("id", string("anonymous-\(lineCounter)"))) }
        }
        if Bool.random(using: &random) { members.append(("title", string(text()))) }
        if Int.random(in: 0..<3, using: &random) == 0 {
            members.append(("status", string(["new", "active", "archived", "closed"].randomElement(using: &random) ?? "active")))
        }
        var participants: [String] = []
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let handle = Self.handlePool.randomElement(using: &random) ?? "x"
            if !participants.contains(where: { $0.utf8.elementsEqual(handle.utf8) }) { participants.append(handle) }
        }
        for handle in participants { handles.insert(Array(handle.utf8)) }
        members.append(("participants", "[" + participants.map { string($0) }.joined(separator: separator()) + "]"))
        if Int.random(in: 0..<3, using: &random) == 0 { members.append(("metadata", metadata(depth: 0))) }
        var messages: [String] = []
        for _ in 0..<Int.random(in: 0...10, using: &random) {
            // Mostly participants, sometimes someone not listed (the importer adds them).
            let sender = Int.random(in: 0..<8, using: &random) == 0
                ? (Self.handlePool.randomElement(using: &random) ?? "x") : (participants.randomElement(using: &random) ?? "x")
            handles.insert(Array(sender.utf8))
            messages.append(message(sender: sender))
        }
        messageCount += messages.count
        members.append(("messages", "[" + messages.joined(separator: separator()) + "]"))
        members.shuffle(using: &random)
        return object(members)
    }

    private mutating func message(sender: String) -> String {
        var members: [(String, String)] = [("sender", string(sender)), ("text", string(text()))]
        if Bool.random(using: &random) {
            members.append(("role", string(["user", "assistant", "system", "tool"].randomElement(using: &random) ?? "user")))
        }
        switch Int.random(in: 0..<6, using: &random) {
        case 0, 1:
            missingTimes += 1
        case 2:
            members.append(("created_at", "\(Int64.random(in: 1_500_000_000_000_000...1_800_000_000_000_000, using: &random))"))
        case 3:
            members.append(("created_at", "null"))
            missingTimes += 1
        default:
            members.append(("created_at", string(rfc3339())))
        }
        if Int.random(in: 0..<5, using: &random) == 0 {
            members.append(("content_type", string(["text/markdown", "text/plain", "application/json"].randomElement(using: &random) ?? "")))
        }
        if Bool.random(using: &random) { members.append(("tokens", "\(Int.random(in: 0...5000, using: &random))")) }
        if Int.random(in: 0..<5, using: &random) == 0 {
            members.append(("status", string(["complete", "incomplete", "failed"].randomElement(using: &random) ?? "")))
        }
        if Int.random(in: 0..<4, using: &random) == 0 { members.append(("metadata", metadata(depth: 0))) }
        if Int.random(in: 0..<5, using: &random) == 0 {
            var attachments: [String] = []
            for index in 0..<Int.random(in: 0...2, using: &random) {
                var fields = [
                    ("uri", string("s3://bucket/ä/\(index)?q=\"x\"")), ("mime_type", string("image/png")),
                    ("size", "\(Int64.random(in: 0...Int64.max, using: &random))"),
                ]
                if Bool.random(using: &random) { fields.append(("name", string(text()))) }
                fields.shuffle(using: &random)
                attachments.append(object(fields))
            }
            members.append(("attachments", "[" + attachments.joined(separator: ",") + "]"))
        }
        members.shuffle(using: &random)
        return object(members)
    }

    // MARK: - Values

    /// A random UUID string (mixed case: the importer keeps ids as they are).
    private mutating func uuid() -> String {
        let digits = Array("0123456789abcdefABCDEF")
        var out = ""
        for index in 0..<32 {
            if [8, 12, 16, 20].contains(index) { out += "-" }
            out.append(digits.randomElement(using: &random) ?? "0")
        }
        return out
    }

    private mutating func text() -> String {
        var out = Self.textPool.randomElement(using: &random) ?? ""
        if Bool.random(using: &random) { out += Self.textPool.randomElement(using: &random) ?? "" }
        return out
    }

    private mutating func metadata(depth: Int) -> String {
        let kinds = depth >= 3 ? 6 : 8
        switch Int.random(in: 0..<kinds, using: &random) {
        case 0: return "null"
        case 1: return Bool.random(using: &random) ? "true" : "false"
        case 2:
            return ["0", "-0", "1", "-1", "\(Int64.max)", "\(Int64.min)", "42", "123456789012"].randomElement(using: &random) ?? "0"
        case 3:
            return ["0.1", "-2.5", "1e300", "5e-324", "1.5E+10", "123.456", "-0.0", "3.0", "18446744073709551616", "2.2250738585072014e-308"]
                .randomElement(using: &random) ?? "0.5"
        case 4, 5: return string(text())
        case 6:
            let items = (0..<Int.random(in: 0...3, using: &random)).map { _ in metadata(depth: depth + 1) }
            return "[" + items.joined(separator: separator()) + "]"
        default:
            var keys: [String] = []
            for _ in 0..<Int.random(in: 0...4, using: &random) {
                let key = ["a", "b", "ключ", "🔑", "", "with \"quote\"", "z", "A", "10", "9"].randomElement(using: &random) ?? "k"
                if !keys.contains(key) { keys.append(key) }
            }
            return object(keys.map { ($0, metadata(depth: depth + 1)) })
        }
    }

    private mutating func rfc3339() -> String {
        let year = Int.random(in: 1990...2030, using: &random)
        let month = Int.random(in: 1...12, using: &random)
        let day = Int.random(in: 1...28, using: &random)
        let hour = Int.random(in: 0...23, using: &random)
        let minute = Int.random(in: 0...59, using: &random)
        let second = Int.random(in: 0...59, using: &random)
        var out = String(format: "%04d-%02d-%02d%@%02d:%02d:%02d", year, month, day, Bool.random(using: &random) ? "T" : "t", hour, minute, second)
        switch Int.random(in: 0..<4, using: &random) {
        case 0: out += ".5"
        case 1: out += ".123456"
        case 2: out += ".123456789"
        default: break
        }
        switch Int.random(in: 0..<4, using: &random) {
        case 0: out += "Z"
        case 1: out += "z"
        case 2: out += "+05:30"
        default: out += "-08:00"
        }
        return out
    }

    /// A JSON string literal, each character escaped or not at random.
    private mutating func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "/": out += Bool.random(using: &random) ? "\\/" : "/"
            case "\n": out += Bool.random(using: &random) ? "\\n" : "\\u000a"
            case "\t": out += Bool.random(using: &random) ? "\\t" : "\\u0009"
            case "\r": out += "\\r"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04X", scalar.value)
                } else if scalar.value > 0x7F, Int.random(in: 0..<4, using: &random) == 0 {
                    // Escaped as UTF-16, with a surrogate pair above U+FFFF.
                    for unit in String(scalar).utf16 { out += String(format: "\\u%04x", unit) }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private mutating func object(_ members: [(String, String)]) -> String {
        "{" + members.map { string($0.0) + (Bool.random(using: &random) ? ": " : ":") + $0.1 }.joined(separator: separator()) + "}"
    }

    private mutating func separator() -> String { Bool.random(using: &random) ? ", " : "," }
}
