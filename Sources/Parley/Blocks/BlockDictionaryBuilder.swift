// Building a block dictionary from a sample of message texts, without a trainer.
//
// LZ4 copies runs of at least 4 bytes from anywhere in the 64 KiB before the cursor, the
// dictionary included; what it saves on a run is about its length, each time it recurs. So the
// dictionary is the sample's words and word pairs (each with the space before it, as they appear
// mid-sentence), ranked by (occurrences − 1) × length, taken while they fit, and laid out with the
// best at the end. On the benchmark's generated chat this took the blocks from 1.5× to 2.1×.
//
// A word is a run of ASCII letters and digits or of bytes ≥ 0x80 (so any UTF-8 script counts);
// two words form a pair when exactly one space separates them. Ties are broken by the bytes, so
// the same sample always gives the same dictionary.

enum BlockDictionaryBuilder {
    /// Text to sample at most: enough for stable counts, bounded memory and time.
    static let maximumSampleBytes = 1 << 20
    /// Less sample text than this makes a poor dictionary: none is made (the default of
    /// `Database.Options.dictionaryMinimumSample`).
    static let minimumSampleBytes = 64 << 10
    /// A dictionary smaller than this is not worth a record and a lookup.
    static let minimumDictionaryBytes = 1 << 10
    /// Longest word or pair kept (longer ones seldom recur).
    static let maximumGramBytes = 64

    /// A dictionary of at most `capacity` bytes for `texts`, or nil when the sample is too small
    /// or too varied to give one.
    static func build(
        from texts: [[UInt8]], minimumSample: Int = minimumSampleBytes, capacity: Int = BlockDictionary.maximumBytes
    ) -> [UInt8]? {
        var sampled = 0
        var counts: [[UInt8]: Int] = [:]
        for text in texts where sampled < maximumSampleBytes {
            sampled += text.count
            count(text, into: &counts)
        }
        guard sampled >= minimumSample else { return nil }
        let ranked = counts.filter { $0.value > 1 }.map { (gram: $0.key, score: ($0.value - 1) * $0.key.count) }
            .sorted { $0.score != $1.score ? $0.score > $1.score : $0.gram.lexicographicallyPrecedes($1.gram) }
        var chosen: [[UInt8]] = []
        var size = 0
        for entry in ranked where size + entry.gram.count <= capacity {
            chosen.append(entry.gram)
            size += entry.gram.count
        }
        guard size >= min(minimumDictionaryBytes, capacity, minimumSample), size > 0 else { return nil }
        var dictionary: [UInt8] = []
        dictionary.reserveCapacity(size)
        for gram in chosen.reversed() { dictionary.append(contentsOf: gram) }
        return dictionary
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: byte >= 0x80
        }
    }

    /// Counts the words and single-space word pairs of `text`, each with a leading space.
    private static func count(_ text: [UInt8], into counts: inout [[UInt8]: Int]) {
        var previous: ArraySlice<UInt8>?
        var index = 0
        while index < text.count {
            guard isWordByte(text[index]) else {
                // Only one space between two words keeps the previous one for a pair.
                if !(text[index] == 0x20 && index > 0 && isWordByte(text[index - 1])) { previous = nil }
                index += 1
                continue
            }
            let start = index
            while index < text.count, isWordByte(text[index]) { index += 1 }
            let word = text[start..<index]
            if word.count + 1 <= maximumGramBytes { counts[[0x20] + word, default: 0] += 1 }
            if let previous, previous.count + word.count + 2 <= maximumGramBytes {
                counts[[0x20] + previous + [0x20] + word, default: 0] += 1
            }
            previous = word
        }
    }
}
