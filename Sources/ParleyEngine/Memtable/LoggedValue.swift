// Values a recovery left in the log: the recovered layer's values are read from the mapped log
// records that hold them, rather than copied onto the heap at open (for a chat log, most of its
// bytes are message bodies, and copying them was most of a recovery's time: fresh pages to fault
// in, one allocation per message).
//
// Invariant: the log bytes a `LoggedValue` reads never change while it exists. The log only ever
// changes them when a checkpoint resets it and new records overwrite the old; the engine resets it
// only once its `RecoveredLog` is gone (`Engine.checkpoint`), that is once no layer, snapshot or
// value still holds one of its values. Until then a checkpoint leaves the log as it is, and new
// records follow the old ones (recovery skips those the trees hold, as after any crash between a
// checkpoint and its reset). The file is never truncated while open, and the mapping stays mapped
// while this object holds it.

/// The log body a recovery replayed, mapped: what the recovered layer's values are read from.
final class RecoveredLog: @unchecked Sendable {
    // Immutable after init, and the bytes never change while this object lives (see above).
    private let mapping: MappedBytes
    /// The records after the log's header.
    let body: UnsafeRawBufferPointer

    /// The part of `mapping` from `offset` on; nil when `offset` is past it.
    init?(mapping: MappedBytes, from offset: Int) {
        guard offset >= 0, offset <= mapping.length else { return nil }
        self.mapping = mapping
        body = UnsafeRawBufferPointer(start: mapping.base + offset, count: mapping.length - offset)
    }
}

/// A value of the recovered layer: a slice of the log body it was recovered from.
final class LoggedValue: Sendable {
    let log: RecoveredLog
    /// Where the value lies in `log.body`, checked against it when made.
    private let range: Range<Int>

    /// The value at `range` of `log`'s body; nil when the range is outside it.
    init?(log: RecoveredLog, range: Range<Int>) {
        guard range.lowerBound >= 0, range.upperBound <= log.body.count else { return nil }
        self.log = log
        self.range = range
    }

    var count: Int { range.count }

    /// The value, copied out of the log.
    var bytes: Bytes { Bytes(UnsafeRawBufferPointer(rebasing: log.body[range])) }
}
