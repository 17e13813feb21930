// Where message texts come from: the corpus when one is given, else the built-in generator.

import ParleyEngine

enum TextSource: Sendable {
    case builtIn(Vocabulary)
    case corpus(Corpus)

    func utterance(_ random: inout SplitMix64) -> String {
        switch self {
        case .builtIn(let vocabulary): return vocabulary.utterance(&random)
        case .corpus(let corpus): return corpus.utterance(random.below(corpus.count))
        }
    }

    /// `count` utterances joined by spaces (an assistant's answer).
    func utterances(_ count: Int, _ random: inout SplitMix64) -> String {
        var text = utterance(&random)
        for _ in 1..<max(1, count) {
            text += " "
            text += utterance(&random)
        }
        return text
    }

    var label: String {
        switch self {
        case .builtIn: return "built-in (English-like words, Zipf frequencies)"
        case .corpus(let corpus): return "\(corpus.path) (\(corpus.format), \(corpus.count) utterances)"
        }
    }
}
