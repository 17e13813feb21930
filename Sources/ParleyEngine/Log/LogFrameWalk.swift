// The walk of a log's record frames (lengths and sequences) that recovery starts with, before its
// workers check the records' CRCs and payloads.
//
// The walk is a chain of dependent loads: each record's length says where the next frame is, and
// on a log far larger than the caches each load misses (about 160 ns on the machines measured,
// 10 ms for a 64 MiB log of chat messages). A large log is therefore walked from both ends of its
// first half at once: one thread from the start, the other from the first frame it can find at or
// after the middle.
//
// Invariant: the frames found are exactly those of the serial walk. The second walk is only a
// guess until the first one lands on the very frame it started from, with the sequence it read
// there; then both walks are the same walk from that frame on. Otherwise its frames are dropped
// and the first walk goes on alone.

import Dispatch

extension LogFormat {
    /// Logs whose body is at least this large are walked from two places at once.
    static let splitWalkMinimum = 8 << 20
    /// How far past the middle the second walk looks for a frame before it gives up (a record
    /// larger than this straddling the middle leaves the walk to one thread).
    static let splitWalkSearch = 64 << 10
    /// Frames the second walk must find in a row from a candidate before it takes it for a frame.
    static let splitWalkConfirmation = 4

    /// The frames of the records in `body` from sequence `header.baseSequence + 1`, up to the
    /// first whose length leaves the body or whose sequence is not the next: each record's place
    /// and stored CRC, neither the CRC nor the payload checked (`RecordCheck` does that).
    static func scanFrames(_ body: UnsafeRawBufferPointer, header: Header) -> [Span] {
        scanFrames(body, header: header, splittingFrom: splitWalkMinimum).spans
    }

    /// How `scanFrames` found its frames (tests).
    enum WalkOutcome: Equatable {
        /// One walk: the body is smaller than the split's minimum.
        case serial
        /// The first walk ended before the middle.
        case endedInFirstHalf
        /// The first walk landed on the second's first frame: both walks' frames.
        case joined
        /// The second walk's guess was not the first's next frame, or it found none: the first
        /// walk went on alone.
        case walkedOn
    }

    /// `scanFrames`, splitting bodies of `minimum` bytes or more.
    static func scanFrames(_ body: UnsafeRawBufferPointer, header: Header, splittingFrom minimum: Int) -> (spans: [Span], outcome: WalkOutcome) {
        let first = header.baseSequence &+ 1
        guard body.count >= max(minimum, 2 * recordHeaderSize) else { return (walkFrames(body, from: 0, sequence: first).spans, .serial) }
        let middle = body.count / 2
        let results = UnsafeMutableBufferPointer<FrameWalk>.allocate(capacity: 2)
        results.initialize(repeating: FrameWalk(spans: [], end: 0, next: 0))
        defer { results.deinitialize().deallocate() }
        let work = SplitWalk(body: body, results: results)
        DispatchQueue.concurrentPerform(iterations: 2) { walker in
            // Each walker writes only its own slot.
            if walker == 0 {
                work.results[0] = walkFrames(work.body, from: 0, sequence: first, stoppingAt: middle)
            } else {
                work.results[1] = guessedWalk(work.body, from: middle, after: header.baseSequence)
            }
        }
        let earlier = results[0], later = results[1]
        // The first walk ended before the middle: the run ends there.
        guard earlier.end >= middle else { return (earlier.spans, .endedInFirstHalf) }
        // It landed on the frame the second walk started from, with the same sequence: the rest is
        // the second walk. Otherwise it goes on alone.
        if let start = later.spans.first, start.payload.lowerBound - recordFrameSize == earlier.end, start.sequence == earlier.next {
            return (earlier.spans + later.spans, .joined)
        }
        return (earlier.spans + walkFrames(body, from: earlier.end, sequence: earlier.next).spans, .walkedOn)
    }

    /// A walk's frames, where it stopped (the offset of the frame it did not take) and the sequence
    /// the next frame must have.
    struct FrameWalk {
        var spans: [Span]
        var end: Int
        var next: UInt64
    }

    /// Walks frames from `offset`, the first with sequence `sequence`, until one fails or, with
    /// `stoppingAt`, until the walk reaches that offset.
    static func walkFrames(_ body: UnsafeRawBufferPointer, from start: Int, sequence: UInt64, stoppingAt stop: Int = .max) -> FrameWalk {
        var spans: [Span] = []
        var offset = start
        var expected = sequence
        while offset < stop, offset >= 0, body.count - offset >= recordHeaderSize {
            let length = Int(body.loadLE(UInt32.self, at: offset))
            let checksum = body.loadLE(UInt32.self, at: offset + 4)
            let found = body.loadLE(UInt64.self, at: offset + 8)
            guard length <= maximumPayload, length <= body.count - offset - recordHeaderSize, found == expected else { break }
            let range = (offset + recordHeaderSize)..<(offset + recordHeaderSize + length)
            spans.append(Span(sequence: found, payload: range, checksum: checksum))
            offset = range.upperBound
            expected &+= 1
        }
        return FrameWalk(spans: spans, end: offset, next: expected)
    }

    /// From the first offset at or after `start` (within `splitWalkSearch`) where
    /// `splitWalkConfirmation` frames follow one another with consecutive sequences above `base`,
    /// the walk to its end; no frames when there is none. Only a guess: `scanFrames` checks it.
    static func guessedWalk(_ body: UnsafeRawBufferPointer, from start: Int, after base: UInt64) -> FrameWalk {
        let none = FrameWalk(spans: [], end: start, next: 0)
        // A frame takes at least its 16 bytes, so no sequence in this body is higher than this.
        let highest = base &+ UInt64(body.count / recordHeaderSize)
        let last = min(body.count - recordHeaderSize, start + splitWalkSearch)
        guard start >= 0, start <= last else { return none }
        for candidate in start...last {
            let sequence = body.loadLE(UInt64.self, at: candidate + 8)
            guard sequence > base, sequence <= highest else { continue }
            let confirmation = walkFrames(body, from: candidate, sequence: sequence)
            // Fewer frames in a row is a guess too weak to wait on; the log may also just end.
            guard confirmation.spans.count >= splitWalkConfirmation else { continue }
            return confirmation
        }
        return none
    }
}

/// What `LogFormat.scanFrames` hands its two walkers: the body stays readable until both return,
/// and each writes its own result slot.
private struct SplitWalk: @unchecked Sendable {
    let body: UnsafeRawBufferPointer
    let results: UnsafeMutableBufferPointer<LogFormat.FrameWalk>
}
