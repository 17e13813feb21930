// Reading a fuzz input as a little program: every read takes bytes from the front, and past the
// end every read gives zeros, so any input (including the empty one) decodes to something and a
// mutation near the front never shifts the meaning of an error.

/// A fuzz input read front to back.
public struct FuzzReader {
    public let bytes: [UInt8]
    public private(set) var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The bytes libFuzzer passes to `LLVMFuzzerTestOneInput` (nil when empty).
    public init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        guard let data, size > 0 else {
            self.init([])
            return
        }
        self.init(Array(UnsafeBufferPointer(start: data, count: size)))
    }

    public var isAtEnd: Bool { offset >= bytes.count }
    public var remaining: Int { max(0, bytes.count - offset) }

    public mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func bool() -> Bool { byte() & 1 == 1 }

    public mutating func u16() -> UInt16 { UInt16(byte()) | UInt16(byte()) << 8 }

    public mutating func u32() -> UInt32 { UInt32(u16()) | UInt32(u16()) << 16 }

    /// Unsigned LEB128, at most 10 bytes (the format's varints).
    public mutating func varint() -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<10 {
            let next = byte()
            value |= UInt64(next & 0x7F) << UInt64(7 * index)
            if next & 0x80 == 0 { break }
        }
        return value
    }

    /// A value in `range`, from one byte (or two when the range is wider than 256).
    public mutating func int(_ range: ClosedRange<Int>) -> Int {
        let span = UInt64(range.upperBound - range.lowerBound) + 1
        let raw = span > 256 ? UInt64(u16()) : UInt64(byte())
        return range.lowerBound + Int(raw % span)
    }

    /// One of `choices` (which must not be empty).
    public mutating func pick<T>(_ choices: [T]) -> T { choices[int(0...(choices.count - 1))] }

    /// The next `count` bytes (fewer at the end).
    public mutating func take(_ count: Int) -> [UInt8] {
        let end = min(bytes.count, offset + max(0, count))
        guard offset < end else { return [] }
        defer { offset = end }
        return Array(bytes[offset..<end])
    }

    /// Everything left.
    public mutating func rest() -> [UInt8] { take(remaining) }
}

/// Builds inputs in the format `FuzzReader` reads (for seeds).
public struct FuzzWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func byte(_ value: UInt8) { bytes.append(value) }
    public mutating func bytes(_ values: [UInt8]) { bytes += values }
    public mutating func u16(_ value: UInt16) { bytes += [UInt8(value & 0xFF), UInt8(value >> 8)] }
    public mutating func u32(_ value: UInt32) {
        u16(UInt16(value & 0xFFFF))
        u16(UInt16(value >> 16))
    }

    public mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }
}
