// Compact binary encoding for the chat store's records: varints, zigzag integers, length-prefixed
// strings, big-endian fixed-width integers for keys (so byte order is numeric order).
//
// `ByteReader` bounds-checks every read and throws `DecodeFailure` on bytes that end early or run
// over their limits: it reads bytes that came from disk.

import Glibc

/// A decoding failure; callers wrap it into an error that names what was being read.
struct DecodeFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func varint(_ value: Int) { varint(UInt64(clamping: value)) }

    /// Signed values, small magnitudes short either way.
    mutating func zigzag(_ value: Int64) { varint(UInt64(bitPattern: (value << 1) ^ (value >> 63))) }

    mutating func bytesWithLength(_ value: [UInt8]) {
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func string(_ value: String) {
        var copy = value
        copy.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// An optional string: 0 for nil, else length + 1 and the bytes.
    mutating func optionalString(_ value: String?) {
        guard var copy = value else {
            varint(UInt64(0))
            return
        }
        copy.withUTF8 { utf8 in
            varint(UInt64(utf8.count) + 1)
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func bigEndian64(_ value: UInt64) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func littleEndian32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func littleEndian64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

struct ByteReader {
    let bytes: [UInt8]
    private(set) var offset: Int
    let end: Int

    init(_ bytes: [UInt8], from start: Int = 0) {
        self.bytes = bytes
        offset = min(max(start, 0), bytes.count)
        end = bytes.count
    }

    /// A reader of `range` of `bytes` alone (clamped to the bytes): it ends where the range does.
    init(_ bytes: [UInt8], range: Range<Int>) {
        self.bytes = bytes
        end = min(max(range.upperBound, 0), bytes.count)
        offset = min(max(range.lowerBound, 0), end)
    }

    var isAtEnd: Bool { offset >= end }
    var remaining: Int { end - offset }

    @inline(__always)
    mutating func byte() throws -> UInt8 {
        guard offset < end else { throw DecodeFailure("ends inside a field") }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Inline for the one-byte case (most counts, lengths and flags a record holds), which was a
    /// call and a loop per field.
    @inline(__always)
    mutating func varint() throws -> UInt64 {
        if offset < end, bytes[offset] < 0x80 {
            defer { offset += 1 }
            return UInt64(bytes[offset])
        }
        return try longVarint()
    }

    private mutating func longVarint() throws -> UInt64 {
        // Read through a borrowed buffer with one bound (`end`, which never passes the array's
        // count): timestamps take eight or nine bytes, and each checked `byte()` was a call.
        let start = offset
        let limit = min(end, bytes.count)
        let (value, next, failure): (UInt64, Int, String?) = bytes.withUnsafeBufferPointer { buffer in
            var result: UInt64 = 0
            var shift: UInt64 = 0
            var index = start
            while index < limit {
                let b = buffer[index]
                index += 1
                if shift == 63, b > 1 { return (0, index, "varint past 64 bits") }
                result |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return (result, index, nil) }
                shift += 7
                if shift > 63 { return (0, index, "varint too long") }
            }
            return (0, index, "ends inside a field")
        }
        if let failure { throw DecodeFailure(failure) }
        offset = next
        return value
    }

    /// A varint that must fit `limit` (a count or a length).
    @inline(__always)
    mutating func count(limit: Int) throws -> Int {
        let value = try varint()
        guard value <= UInt64(limit) else { throw DecodeFailure("count \(value) over its limit \(limit)") }
        return Int(value)
    }

    @inline(__always)
    mutating func zigzag() throws -> Int64 {
        let raw = try varint()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    mutating func raw(_ length: Int) throws -> ArraySlice<UInt8> {
        guard length >= 0, length <= remaining else { throw DecodeFailure("length \(length) runs past the end") }
        defer { offset += length }
        return bytes[offset..<(offset + length)]
    }

    mutating func bytesWithLength(limit: Int = Int(Int32.max)) throws -> [UInt8] {
        let length = try count(limit: limit)
        return Array(try raw(length))
    }

    mutating func string(limit: Int = Int(Int32.max)) throws -> String {
        try text(length: try count(limit: limit))
    }

    mutating func optionalString(limit: Int = Int(Int32.max)) throws -> String? {
        let marker = try varint()
        if marker == 0 { return nil }
        guard marker - 1 <= UInt64(limit), marker - 1 <= UInt64(remaining) else { throw DecodeFailure("string runs past the end") }
        return try text(length: Int(marker - 1))
    }

    /// Where the bytes of the length-prefixed string at the current offset lie, without moving
    /// past it (its length is checked against `limit` and the end as `string` checks it).
    func peekStringRange(limit: Int) throws -> Range<Int> {
        var lookahead = self
        let length = try lookahead.count(limit: limit)
        guard length <= lookahead.remaining else { throw DecodeFailure("length \(length) runs past the end") }
        return lookahead.offset..<(lookahead.offset + length)
    }

    /// The byte order of two ranges of the bytes being read (as `compareUTF8` orders strings).
    /// Both ranges come from `peekStringRange`, so they lie inside the bytes.
    func compare(_ a: Range<Int>, _ b: Range<Int>) -> Int {
        bytes.withUnsafeBytes { all in
            let common = min(a.count, b.count)
            if common > 0, let base = all.baseAddress {
                let order = memcmp(base + a.lowerBound, base + b.lowerBound, common)
                if order != 0 { return Int(order) }
            }
            return a.count - b.count
        }
    }

    /// The next `length` bytes as a String, if they are valid UTF-8. Read through a borrowed
    /// buffer, not a slice: a slice retains the array and releases it again, twice per string,
    /// and a conversation record holds a dozen strings.
    private mutating func text(length: Int) throws -> String {
        guard length >= 0, length <= remaining else { throw DecodeFailure("length \(length) runs past the end") }
        let start = offset
        offset += length
        let text = bytes.withUnsafeBufferPointer { buffer in
            // start + length <= end == buffer.count, checked above.
            validUTF8String(UnsafeBufferPointer(rebasing: buffer[start..<(start + length)]))
        }
        guard let text else { throw DecodeFailure("text is not UTF-8") }
        return text
    }

    mutating func bigEndian64() throws -> UInt64 {
        let slice = try raw(8)
        return slice.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    mutating func littleEndian32() throws -> UInt32 {
        let slice = try raw(4)
        return slice.reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    mutating func littleEndian64() throws -> UInt64 {
        let slice = try raw(8)
        return slice.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }
}

/// `bytes` as a String when they are valid UTF-8, else nil. `String(validating:as:)` is the
/// obvious spelling, but it runs unspecialized generic code (metadata lookups on every call),
/// which was a tenth of an inbox query; `UTF8Span` validates a contiguous buffer directly.
func validUTF8String(_ bytes: ArraySlice<UInt8>) -> String? {
    bytes.withUnsafeBufferPointer { validUTF8String($0) }
}

/// `bytes` as a String when they are valid UTF-8, else nil (as above, for a borrowed buffer).
func validUTF8String(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
    // Handles, platforms and ids are short and ASCII: checked here in one pass, they need no
    // validator (decoding ASCII cannot repair anything, so it is exact).
    if bytes.count <= 32, isASCII(bytes) { return String(decoding: bytes, as: UTF8.self) }
    do {
        return String(copying: try UTF8Span(validating: bytes.span))
    } catch {
        return nil
    }
}

/// True when `range` of `bytes` holds exactly `other`; `range` must lie inside `bytes` (as
/// ranges from `ByteReader.peekStringRange` do).
func rangeOf(_ bytes: [UInt8], _ range: Range<Int>, equals other: [UInt8]) -> Bool {
    guard range.count == other.count, range.lowerBound >= 0, range.upperBound <= bytes.count else { return false }
    return bytes.withUnsafeBytes { all in
        other.withUnsafeBytes { theirs in
            guard range.count > 0, let base = all.baseAddress, let their = theirs.baseAddress else { return true }
            return memcmp(base + range.lowerBound, their, range.count) == 0
        }
    }
}

/// True when every byte is below 0x80.
@inline(__always)
private func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    var union: UInt8 = 0
    for byte in bytes { union |= byte }
    return union < 0x80
}

/// The byte order of two strings' UTF-8, as handles are stored and compared (negative, zero or
/// positive). Comparing the contiguous bytes at once, not through the generic UTF8View.
func compareUTF8(_ a: String, _ b: String) -> Int {
    var a = a
    var b = b
    return a.withUTF8 { x in
        b.withUTF8 { y in
            let common = min(x.count, y.count)
            if common > 0, let left = x.baseAddress, let right = y.baseAddress {
                let order = memcmp(left, right, common)
                if order != 0 { return Int(order) }
            }
            return x.count - y.count
        }
    }
}

func validUTF8String(_ bytes: [UInt8]) -> String? { validUTF8String(bytes[...]) }

/// Timestamps in keys: the sign bit flipped so that byte order is time order.
@inline(__always)
func orderedBits(_ time: Timestamp) -> UInt64 { UInt64(bitPattern: time.microseconds) ^ (1 << 63) }

@inline(__always)
func timestamp(fromOrderedBits bits: UInt64) -> Timestamp { Timestamp(microseconds: Int64(bitPattern: bits ^ (1 << 63))) }
