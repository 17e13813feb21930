// Identifiers and time: conversation ids (UUIDs the engine generates), message ids (assigned by
// the engine in commit order) and timestamps in microseconds since the Unix epoch.

import Glibc

/// A conversation's identifier: a random (version 4) UUID that the database generates.
public struct ConversationID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The 16 bytes of the UUID, in the order they are written and printed.
    public let bytes: [UInt8]

    /// Makes an id from its 16 bytes; nil when there are not exactly 16.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses the canonical 36-character form (`8-4-4-4-12` hexadecimal digits), or the same 32
    /// digits without hyphens; case-insensitive.
    public init?(_ text: String) {
        var out: [UInt8] = []
        out.reserveCapacity(16)
        var high: UInt8?
        var seen = 0
        for (index, unit) in text.utf8.enumerated() {
            if unit == UInt8(ascii: "-") {
                guard [8, 13, 18, 23].contains(index), text.utf8.count == 36 else { return nil }
                continue
            }
            guard let nibble = Self.nibble(unit) else { return nil }
            seen += 1
            if let h = high {
                out.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        guard seen == 32, out.count == 16, text.utf8.count == 32 || text.utf8.count == 36 else { return nil }
        bytes = out
    }

    /// A new random version 4 UUID.
    static func random<G: RandomNumberGenerator>(using generator: inout G) -> ConversationID {
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return ConversationID(uncheckedBytes: bytes)
    }

    init(uncheckedBytes: [UInt8]) { bytes = uncheckedBytes }

    private static func nibble(_ unit: UInt8) -> UInt8? {
        switch unit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return unit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return unit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return unit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// The canonical lowercase form, e.g. `3f2b8c1e-7d4a-4e21-9c3b-0a1b2c3d4e5f`.
    public var description: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, byte) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func < (a: ConversationID, b: ConversationID) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = ConversationID(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a UUID: \(text)"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A message's identifier, assigned by the database: unique in the file and increasing in the
/// order messages were appended.
public struct MessageID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (a: MessageID, b: MessageID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(UInt64.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// A point in time: microseconds since 1970-01-01T00:00:00Z.
public struct Timestamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let microseconds: Int64
    public init(microseconds: Int64) { self.microseconds = microseconds }

    /// The current wall-clock time.
    public static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(microseconds: Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec / 1000))
    }

    /// This time moved by `seconds` (saturating at the ends of the range).
    public func adding(seconds: Double) -> Timestamp {
        let delta = seconds * 1_000_000
        guard delta.isFinite else { return delta > 0 ? Timestamp(microseconds: .max) : Timestamp(microseconds: .min) }
        let clamped = max(min(delta, 9.2e18), -9.2e18)
        let (sum, overflow) = microseconds.addingReportingOverflow(Int64(clamped))
        if overflow { return Timestamp(microseconds: clamped > 0 ? .max : .min) }
        return Timestamp(microseconds: sum)
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.microseconds < b.microseconds }
    public var description: String { String(microseconds) }
    public init(from decoder: any Decoder) throws { microseconds = try decoder.singleValueContainer().decode(Int64.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(microseconds)
    }
}

/// A position in a conversation's message order, (created_at, id): the order in which messages
/// read back. Use a message's `position` as the cursor of a paged query.
public struct MessagePosition: Hashable, Comparable, Sendable, Codable {
    public var createdAt: Timestamp
    public var id: MessageID
    public init(createdAt: Timestamp, id: MessageID) {
        self.createdAt = createdAt
        self.id = id
    }
    public static func < (a: MessagePosition, b: MessagePosition) -> Bool {
        (a.createdAt, a.id) < (b.createdAt, b.id)
    }
}
