// The built-in text generator, used when no corpus is given: English-like words with Zipf
// frequencies. The most frequent ranks are common English words; the long tail is made of
// pronounceable syllable combinations, built from a fixed seed so that every run has the same
// vocabulary whatever `--seed` says.

import ParleyEngine

struct Vocabulary: Sendable {
    let words: [String]
    private let ranks: ZipfTable

    /// Frequent words first, in rough order of frequency in chat.
    private static let common: [String] = """
        the i you to a and it is that of for in my me what can on do this be have with not your \
        no we are so just but at there if how will was know like get please need an order yes \
        would thanks help one about could all time it's i'm up out want when now they ok here \
        from should which who did by or any more some make back then go see also find check does \
        account again because day has had book today send new still right sure way them work \
        number looking good well where something tomorrow much error update after before issue \
        email phone payment address problem thank think try date great restaurant flight \
        hotel reservation ticket price cheap around people city movie weather open close install \
        package server file version ubuntu system driver network password login setting screen \
        message reply question answer delivery refund store card bank transfer week month night \
        morning evening available booked confirm cancel change fine nice okay sorry hello hi hey
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)

    private static let onsets = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w",
                                 "br", "ch", "cl", "cr", "dr", "fl", "fr", "gr", "pl", "pr", "sh", "sl", "sp", "st", "th", "tr", ""]
    private static let vowels = ["a", "e", "i", "o", "u", "ea", "ai", "ou", "ie", "oo", "y"]
    private static let codas = ["", "", "", "n", "r", "s", "t", "l", "m", "nd", "ng", "st", "ck", "rt", "nt", "ss"]

    /// `size` words (at least the common ones), ranked with exponent 1 (Zipf's law for text).
    init(size: Int = 6_000) {
        var random = SplitMix64(seed: 0x5EED_0F_70_CAB)
        var seen = Set(Self.common)
        var words = Self.common
        while words.count < size {
            var word = ""
            for _ in 0..<random.between(1, 3) {
                word += Self.onsets[random.below(Self.onsets.count)]
                word += Self.vowels[random.below(Self.vowels.count)]
                word += Self.codas[random.below(Self.codas.count)]
            }
            if word.utf8.count >= 2, seen.insert(word).inserted { words.append(word) }
        }
        self.words = words
        ranks = ZipfTable(count: words.count, exponent: 1.0)
    }

    /// One utterance: 3 to 18 words, capitalised, sometimes with a comma, ending in . ? or !.
    func utterance(_ random: inout SplitMix64) -> String {
        let count = random.between(3, 18)
        var text = ""
        text.reserveCapacity(count * 7)
        for index in 0..<count {
            let word = words[ranks.sample(&random)]
            if index == 0 {
                text += word.prefix(1).uppercased() + word.dropFirst()
            } else {
                text += index > 2 && random.chance(0.08) ? ", " : " "
                text += word
            }
        }
        let end = random.unit()
        text += end < 0.7 ? "." : end < 0.9 ? "?" : "!"
        return text
    }
}
