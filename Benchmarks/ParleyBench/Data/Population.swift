// Users and conversations, deterministic from (seed, scale): who takes part in each
// conversation, its platform and external id, its creation time, and which conversations are busy
// (the Zipf ranks). Both engines are set up from the same population.

import ParleyEngine

/// What kind of conversation it is, which decides who speaks.
enum ConversationKind: UInt8, Sendable {
    /// A user with the platform's bot: user and assistant alternate, after a system prompt.
    case bot
    /// Two users.
    case pair
    /// 3 to 8 users.
    case group
}

struct ConversationPlan: Sendable {
    let kind: ConversationKind
    let platform: Int
    /// User indexes (humans, and the bot for a bot conversation), distinct.
    let members: [Int32]
    let createdAt: Int64
}

struct Population: Sendable {
    static let platforms = ["telegram", "slack", "web", "whatsapp"]
    /// 2024-01-01T00:00:00Z: conversations are created from here, one millisecond apart, so no two
    /// share a creation time (and inboxes have no ties to break).
    static let epochMicros: Int64 = 1_704_067_200_000_000

    let scale: Scale
    let humans: Int
    let conversations: [ConversationPlan]
    /// `busiest[rank]` is the conversation at that Zipf rank (a shuffle, so busy ones are not all
    /// the first created).
    let busiest: [Int32]
    let skew: ZipfTable

    /// Humans, then one bot per platform.
    var userCount: Int { humans + Self.platforms.count }
    func botIndex(platform: Int) -> Int { humans + platform }
    func isBot(_ user: Int) -> Bool { user >= humans }

    /// Simulated time of the first message: after every conversation was created.
    var firstMessageMicros: Int64 { Self.epochMicros + Int64(conversations.count) * 1_000 + 1_000_000 }

    init(scale: Scale, seed: UInt64) {
        self.scale = scale
        humans = scale.users
        var random = SplitMix64(seed: seed, stream: RandomStream.population.rawValue)
        var plans: [ConversationPlan] = []
        plans.reserveCapacity(scale.conversations)
        for index in 0..<scale.conversations {
            let platform = random.below(Self.platforms.count)
            let roll = random.unit()
            let kind: ConversationKind = roll < 0.80 ? .bot : roll < 0.95 ? .pair : .group
            var members: [Int32] = []
            let humansWanted = kind == .bot ? 1 : kind == .pair ? 2 : random.between(3, 8)
            while members.count < humansWanted {
                let user = Int32(random.below(scale.users))
                if !members.contains(user) { members.append(user) }
            }
            if kind == .bot { members.append(Int32(scale.users + platform)) }
            plans.append(ConversationPlan(
                kind: kind, platform: platform, members: members,
                createdAt: Self.epochMicros + Int64(index) * 1_000))
        }
        conversations = plans
        var order = (0..<Int32(scale.conversations)).map { $0 }
        for index in stride(from: order.count - 1, to: 0, by: -1) {
            order.swapAt(index, random.below(index + 1))
        }
        busiest = order
        skew = ZipfTable(count: scale.conversations, exponent: WorkloadConstants.conversationSkew)
    }

    /// A conversation drawn with the workload's skew.
    func skewedConversation(_ random: inout SplitMix64) -> Int { Int(busiest[skew.sample(&random)]) }

    func handle(of user: Int) -> String {
        if isBot(user) { return "bot-" + Self.platforms[user - humans] }
        let digits = String(user)
        return "user-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// Unique per platform (and in fact overall): the index in base 36 with a platform prefix.
    func externalID(of conversation: Int) -> String {
        let platform = Self.platforms[conversations[conversation].platform]
        return String(platform.prefix(1)).uppercased() + String(conversation, radix: 36, uppercase: true)
    }
}
