// The message stream: messages in time order, each in a conversation drawn with the Zipf skew,
// generated one at a time so that nothing but the population and a few bytes per conversation
// is held. Two generators with the same (population, text, seed) yield the same messages, which
// is how both engines are fed the same data without keeping it.

import Parley
import ParleyEngine

struct GeneratedMessage: Sendable {
    /// Index in the population.
    let conversation: Int
    /// User index in the population.
    let sender: Int
    let role: Role
    let createdAt: Int64
    let text: String
    /// Text bytes / 4, given explicitly to both engines.
    let tokens: Int
    let metadata: Metadata?
}

final class MessageGenerator {
    private let population: Population
    private let text: TextSource
    private var random: SplitMix64
    private var clock: Int64
    /// Per conversation: 0 before its first message; in a bot conversation 1 when the user speaks
    /// next and 2 when the assistant does.
    private var turns: [UInt8]
    /// Simulated time of each conversation's first and last message (0: none yet), for the
    /// windows of `range`.
    private(set) var firstAt: [Int64]
    private(set) var lastAt: [Int64]
    private(set) var produced = 0
    /// FNV-1a over every message's fields and text: two streams that agree on it fed the engines
    /// the same messages.
    private(set) var fingerprint: UInt64 = 0xCBF2_9CE4_8422_2325

    private static let clients: [Metadata] = ["ios", "android", "web", "desktop"]
    private static let locales: [Metadata] = ["en-US", "en-GB", "de-DE", "fr-FR", "es-ES"]

    init(population: Population, text: TextSource, seed: UInt64) {
        self.population = population
        self.text = text
        random = SplitMix64(seed: seed, stream: RandomStream.messages.rawValue)
        clock = population.firstMessageMicros
        turns = [UInt8](repeating: 0, count: population.conversations.count)
        firstAt = [Int64](repeating: 0, count: population.conversations.count)
        lastAt = [Int64](repeating: 0, count: population.conversations.count)
    }

    func next() -> GeneratedMessage {
        // Exponential gaps of 50 ms on average, at least 1 µs: times are unique, so both engines
        // order every conversation the same way whatever ids they assign.
        clock += max(1, Int64(random.exponential(mean: WorkloadConstants.meanGapMicros).rounded()))
        let conversation = population.skewedConversation(&random)
        let plan = population.conversations[conversation]
        let sender: Int
        let role: Role
        let body: String
        switch plan.kind {
        case .bot:
            let bot = population.botIndex(platform: plan.platform)
            let human = Int(plan.members[0])
            switch turns[conversation] {
            case 0:
                (sender, role, body) = (bot, .system, text.utterances(random.between(1, 3), &random))
                turns[conversation] = 1
            case 1:
                (sender, role, body) = (human, .user, text.utterance(&random))
                turns[conversation] = 2
            default:
                (sender, role, body) = (bot, .assistant, text.utterances(random.between(3, 12), &random))
                turns[conversation] = 1
            }
        case .pair, .group:
            sender = Int(plan.members[random.below(plan.members.count)])
            role = .user
            body = text.utterance(&random)
            turns[conversation] = 1
        }
        var metadata: Metadata?
        if random.chance(0.10) {
            metadata = .object([
                "client": Self.clients[random.below(Self.clients.count)],
                "locale": Self.locales[random.below(Self.locales.count)],
                "seq": .int(Int64(produced)),
                "edited": .bool(random.chance(0.2)),
            ])
        }
        if firstAt[conversation] == 0 { firstAt[conversation] = clock }
        lastAt[conversation] = clock
        produced += 1
        mix(UInt64(conversation))
        mix(UInt64(sender))
        mix(UInt64(bitPattern: clock))
        mix(UInt64(role == .user ? 0 : role == .assistant ? 1 : 2))
        mix(metadata == nil ? 0 : 1)
        for byte in body.utf8 { fingerprint = (fingerprint ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return GeneratedMessage(
            conversation: conversation, sender: sender, role: role, createdAt: clock, text: body,
            tokens: body.utf8.count / 4, metadata: metadata)
    }

    private func mix(_ value: UInt64) {
        fingerprint = (fingerprint ^ value) &* 0x100_0000_01B3
    }

    func next(_ count: Int) -> [GeneratedMessage] {
        var out: [GeneratedMessage] = []
        out.reserveCapacity(count)
        for _ in 0..<count { out.append(next()) }
        return out
    }
}
