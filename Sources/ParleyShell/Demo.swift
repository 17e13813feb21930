// `parley demo FILE`: a database with a realistic sample, so that a new user can run queries at
// once. The sample is made up here (no corpus is needed) and is the same on every run: a support
// bot's conversations with customers over the last sixty days, on three platforms.

import Parley

/// Builds the demo database.
public enum Demo {
    /// What the demo made.
    public struct Summary: Sendable {
        public var users: Int
        public var conversations: Int
        public var messages: Int
        /// A conversation to try first.
        public var sampleConversation: ConversationID
        /// A user with several conversations.
        public var sampleUser: String
    }

    static let names = [
        "ada", "grace", "linus", "margaret", "dennis", "barbara", "ken", "frances", "edsger", "radia", "tim", "shafi",
        "leslie", "anita", "donald", "hedy", "alan", "katherine", "john", "sophie",
    ]
    static let platforms = ["slack", "web", "whatsapp"]
    static let openers = [
        "Hi, my order hasn't arrived yet.", "How do I reset my password?", "Can I change the delivery address?",
        "The app crashes when I open settings.", "Do you ship to Norway?", "I was charged twice for one order.",
        "Where can I download my invoice?", "Is there a student discount?",
    ]
    static let followUps = [
        "It's order %d.", "I tried that already.", "Thanks, that helped!", "Could you check again?", "Any update?",
        "Great, thank you.", "It still doesn't work.", "OK, I'll wait.",
    ]
    static let replies = [
        "Let me look into order %d for you.", "I've sent a reset link to your email.",
        "Done: the new address is saved.", "Could you tell me which version of the app you use?",
        "Yes, we ship to all EU and EEA countries.", "I've refunded the second charge; it takes 3–5 days.",
        "Invoices are under Account → Orders.", "Yes: 15% off with a valid student email.",
    ]

    /// Fills a new, empty database at `database` with the sample.
    @discardableResult
    public static func populate(_ database: Database, now: Timestamp = .now()) throws -> Summary {
        var random = SplitMix64(seed: 20_261_121)
        let bot = "helpdesk-bot"
        var sample: ConversationID?
        var messages = 0
        try database.write { chat in
            try chat.upsertUser(bot, displayName: "Helpdesk Bot", metadata: ["model": "support-small", "version": 3])
            for name in names { try chat.upsertUser(name, displayName: name.prefix(1).uppercased() + name.dropFirst()) }
        }
        for index in 0..<60 {
            let customer = names[random.below(names.count)]
            let platform = platforms[index % platforms.count]
            let started = now.adding(seconds: -Double(random.below(60 * 86_400)) - 3600)
            let topic = random.below(openers.count)
            let order = 10_000 + random.below(90_000)
            let id = try database.write { chat -> ConversationID in
                let id = try chat.createConversation(
                    NewConversation(
                        participants: [customer, bot], platform: platform, externalID: "\(platform)-\(1000 + index)",
                        title: openers[topic], metadata: ["channel": .string(platform), "priority": index % 7 == 0 ? "high" : "normal"],
                        createdAt: started))
                var time = started
                var batch = [NewMessage(sender: bot, role: .system, text: "You are a friendly support assistant for an online shop.", createdAt: time)]
                batch.append(NewMessage(sender: customer, text: openers[topic], createdAt: time.adding(seconds: 1)))
                time = time.adding(seconds: 1)
                for turn in 0..<(2 + random.below(10)) {
                    time = time.adding(seconds: Double(20 + random.below(600)))
                    if turn % 2 == 0 {
                        let text = replies[(topic + turn / 2) % replies.count].replacingOccurrences(of: "%d", with: String(order))
                        batch.append(NewMessage(sender: bot, role: .assistant, text: text, tokens: text.utf8.count / 4 + 3, createdAt: time))
                    } else {
                        let text = followUps[random.below(followUps.count)].replacingOccurrences(of: "%d", with: String(order))
                        var message = NewMessage(sender: customer, text: text, createdAt: time)
                        if random.below(8) == 0 {
                            message.attachments = [Attachment(uri: "s3://demo-uploads/\(order).png", mimeType: "image/png", size: Int64(20_000 + random.below(400_000)), name: "screenshot.png")]
                        }
                        batch.append(message)
                    }
                }
                messages += try chat.append(contentsOf: batch, to: id).count
                if index % 5 == 0 { try chat.setState(.conversation(id), value: Array("{\"step\":\"awaiting_customer\",\"order\":\(order)}".utf8)) }
                if index % 9 == 0 { try chat.setStatus(.closed, of: id) }
                return id
            }
            if sample == nil { sample = id }
        }
        try database.archiveConversations(inactiveForDays: 45)
        try database.checkpoint()
        guard let sample else { throw ParleyError.invalidArgument("the demo made no conversation") }
        return Summary(users: names.count + 1, conversations: 60, messages: messages, sampleConversation: sample, sampleUser: bot)
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}

extension SplitMix64 {
    /// A uniform-enough integer in 0..<bound (the demo's needs, not statistics).
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }
}
