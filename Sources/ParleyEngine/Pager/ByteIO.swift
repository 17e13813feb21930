// Little-endian integers in byte buffers. Readers take a buffer and an offset that the caller has
// already bounds-checked against the buffer (page layouts validate before they read); the checks
// here are a second line that turns a layout bug into a corrupt-page error rather than a trap.

/// Page numbers within a database file.
public typealias PageID = UInt64

/// Byte strings as the engine stores them: keys and values.
public typealias Bytes = [UInt8]

extension UnsafeRawBufferPointer {
    @inline(__always)
    func loadLE<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Reads a `T` at `offset` or returns nil when it would reach past the end.
    @inline(__always)
    func checkedLoadLE<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T? {
        guard offset >= 0, offset <= count - MemoryLayout<T>.size else { return nil }
        return T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension UnsafeMutableRawBufferPointer {
    @inline(__always)
    func storeLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }

    /// Copies `bytes` to `offset` (the caller has checked they fit).
    @inline(__always)
    func copy(_ bytes: Bytes, at offset: Int) {
        bytes.withUnsafeBytes { source in
            guard let from = source.baseAddress, let to = baseAddress, source.count > 0 else { return }
            (to + offset).copyMemory(from: from, byteCount: source.count)
        }
    }
}

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

/// Lexicographic order of byte strings: the order of every tree.
@inline(__always)
func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let common = Swift.min(a.count, b.count)
    if common > 0, let pa = a.baseAddress, let pb = b.baseAddress {
        if common > 64 {
            let c = memcmp(pa, pb, common)
            if c != 0 { return c < 0 ? -1 : 1 }
        } else {
            // Most keys are short (ids, times, handles): eight bytes at a time, read big-endian so
            // that integer order is byte order, decide without a call to memcmp.
            var offset = 0
            while offset + 8 <= common {
                let x = UInt64(bigEndian: pa.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                let y = UInt64(bigEndian: pb.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                if x != y { return x < y ? -1 : 1 }
                offset += 8
            }
            while offset < common {
                let x = pa.load(fromByteOffset: offset, as: UInt8.self)
                let y = pb.load(fromByteOffset: offset, as: UInt8.self)
                if x != y { return x < y ? -1 : 1 }
                offset += 1
            }
        }
    }
    return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
}

@inline(__always)
func compareBytes(_ a: Bytes, _ b: Bytes) -> Int {
    a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in compareBytes(pa, pb) } }
}

@inline(__always)
func compareBytes(_ a: Bytes, _ b: UnsafeRawBufferPointer) -> Int {
    a.withUnsafeBytes { pa in compareBytes(pa, b) }
}

import Glibc
