import XCTest
@testable import ParleyEngine

/// Recovery's sort of collected entries against a plain sort of the same keys: by key bytes, then
/// by log position. The keys come in shapes that take each path: few groups by their first eight
/// bytes with keys in order (a conversation's messages) or out of order, keys whose first eight
/// bytes are mostly distinct (the whole-array sort), long keys that tie on the 24-byte prefix,
/// zero-padded short keys, and one key written several times.
final class RecoveredEntryTests: XCTestCase {
    private func bigEndian(_ value: UInt64) -> Bytes { withUnsafeBytes(of: value.bigEndian) { Bytes($0) } }

    private func randomKey(_ random: inout SeededRandom, shape: Int, leads: Int, counter: inout UInt64) -> Bytes {
        let lead = UInt64(random.next() % UInt64(leads))
        var key = bigEndian(lead)
        switch shape {
        case 0:
            // In order within a group: a rising counter after the lead.
            counter += 1 + random.next() % 3
            key += bigEndian(counter)
        case 1:
            key += bigEndian(random.next() % 50)
        default:
            // Long keys that agree on their first 24 bytes, or short ones with zeros at the end.
            if random.next() % 2 == 0 {
                key += Bytes(repeating: 0, count: 16) + random.bytes(Int(random.next() % 4))
            } else {
                key += Bytes(repeating: 0, count: Int(random.next() % 3))
            }
        }
        return key
    }

    func testSortByKeyEqualsAPlainSortOfKeysThenPositions() {
        var sawGrouped = false
        var sawWhole = false
        for round in 0..<300 {
            var random = SeededRandom(seed: UInt64(round) &* 977 &+ 3)
            let shape = round % 3
            // Few leads make groups; many (more than a sixteenth of the entries) make the whole sort.
            let count = 1 + Int(random.next() % 400)
            let leads = round % 2 == 0 ? 1 + Int(random.next() % 5) : count * 2
            if leads <= max(16, count / 16) { sawGrouped = true } else if count > 32 { sawWhole = true }
            var body = Bytes()
            var entries: [BodyEntry] = []
            var counter: UInt64 = 0
            var repeated: Bytes?
            for position in 0..<count {
                var key = randomKey(&random, shape: shape, leads: leads, counter: &counter)
                if let again = repeated, random.next() % 8 == 0 { key = again } else if random.next() % 20 == 0 { repeated = key }
                let offset = body.count
                body += key
                let prefix = key.withUnsafeBytes { BodyEntry.Prefix($0) }
                entries.append(BodyEntry(
                    prefix: prefix, key: offset, keyCount: key.count, value: -1, valueCount: 0, position: position, bornByInsert: false))
            }
            // Collection order is mostly log order; a removal moves the last entry into a hole.
            if count > 2, random.next() % 2 == 0 { entries.swapAt(Int(random.next() % UInt64(count)), count - 1) }
            let keyOf = { (entry: BodyEntry) in Bytes(body[entry.key..<(entry.key + entry.keyCount)]) }
            let expected = entries.sorted {
                let c = compareBytes(keyOf($0), keyOf($1))
                return c != 0 ? c < 0 : $0.position < $1.position
            }
            var sorted = entries
            body.withUnsafeBytes { BodyEntry.sortByKey(&sorted, body: $0) }
            XCTAssertEqual(sorted.map(\.position), expected.map(\.position), "round \(round)")
        }
        XCTAssertTrue(sawGrouped && sawWhole)
    }
}
