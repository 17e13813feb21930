// A real dialogue corpus as a pool of utterances (`--corpus FILE`): either one utterance per
// line, or the JSON Lines conversations of ../shared/data (`messages[].text`), gzipped or not.
// The texts are packed into one byte array with end offsets, so a corpus of 300,000 utterances
// costs its text size plus 8 bytes each, not 300,000 String objects, in the memory figure.

import Parley
import ParleyInterchange

final class Corpus: Sendable {
    let path: String
    /// "jsonl" or "lines".
    let format: String
    private let bytes: [UInt8]
    private let ends: [Int]
    /// Lines that were not used (invalid UTF-8 in a plain file).
    let skippedLines: Int

    var count: Int { ends.count }
    var textBytes: Int { bytes.count }

    init(path: String) throws {
        self.path = path
        let lines = try LineStream(path: path)
        var bytes: [UInt8] = []
        var ends: [Int] = []
        var format: String?
        var skipped = 0
        while let line = lines.next() {
            if format == nil {
                if line.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
                format = line.first(where: { $0 != 32 && $0 != 9 }) == UInt8(ascii: "{") ? "jsonl" : "lines"
            }
            if format == "jsonl" {
                if line.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
                guard let text = String(validating: line, as: UTF8.self) else {
                    throw BenchError("\(path) line \(lines.lineNumber): not valid UTF-8")
                }
                let value: Metadata
                do {
                    value = try JSONText.metadata(text)
                } catch {
                    throw BenchError("\(path) line \(lines.lineNumber): \(error)")
                }
                guard case .array(let messages)? = value["messages"] else {
                    throw BenchError("\(path) line \(lines.lineNumber): expected an object with a \"messages\" array")
                }
                for message in messages {
                    guard case .string(let utterance)? = message["text"] else {
                        throw BenchError("\(path) line \(lines.lineNumber): a message without a \"text\" string")
                    }
                    bytes.append(contentsOf: utterance.utf8)
                    ends.append(bytes.count)
                }
            } else {
                if line.isEmpty { continue }
                guard String(validating: line, as: UTF8.self) != nil else {
                    skipped += 1
                    continue
                }
                bytes.append(contentsOf: line)
                ends.append(bytes.count)
            }
        }
        try lines.close()
        guard !ends.isEmpty else { throw BenchError("\(path) holds no utterance") }
        self.bytes = bytes
        self.ends = ends
        self.format = format ?? "lines"
        self.skippedLines = skipped
    }

    /// Utterance `index` (0..<count).
    func utterance(_ index: Int) -> String {
        let start = index == 0 ? 0 : ends[index - 1]
        return bytes.withUnsafeBufferPointer { String(decoding: $0[start..<ends[index]], as: UTF8.self) }
    }
}
