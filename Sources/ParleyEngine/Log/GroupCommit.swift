// When the log's next fdatasync should start: the group-commit policy `WriteAheadLog.makeDurable`
// follows. Pure bookkeeping, no locking or I/O of its own: the log calls it under its mutex.
//
// Without a policy, committers that arrive while a sync runs form the next group, and those the sync
// releases come back while the next one runs: with four threads they fall into two alternating
// groups, about two commits per fdatasync. Here a sync waits a short window for the committers just
// released to append again, so the whole crowd shares one sync; the committer that completes the
// crowd starts it at once, without waiting to be woken.
//
// Invariants:
// - The window is asked for only while fewer committers wait than were committing at the end of the
//   last sync, and at least one does: a committer that was alone at the end of the last sync never
//   waits, and neither does a flush no committer waits beside.
// - The window is a fraction of the recent fdatasync time and never longer than `maximumWindow`, so
//   no commit waits without bound; it only delays a sync, never acknowledges anything.

struct GroupCommit {
    /// The share of a recent fdatasync's duration the next sync may wait for committers. With
    /// four durable threads on a file of a million messages, half a sync let 3.1 commits share
    /// each fdatasync, three quarters 3.5 and a whole one 3.8, at the same commit rate.
    static let windowFraction = 0.75
    /// The longest wait, in seconds, whatever the disk's speed.
    static let maximumWindow = 0.004
    /// Weight of the newest sync in the running estimate of a sync's duration.
    static let smoothing = 0.25

    /// The sequence each committer inside `makeDurable` waits for (one entry per thread).
    private(set) var waiting: [UInt64] = []
    /// How many committers were inside `makeDurable` when the last sync ended: the crowd the next
    /// sync waits for.
    private(set) var expected = 1
    /// Running estimate of an fdatasync's duration, in seconds (0 until the first one).
    private(set) var syncSeconds = 0.0

    mutating func arrive(waitingFor sequence: UInt64) {
        waiting.append(sequence)
    }

    mutating func leave(waitingFor sequence: UInt64) {
        if let index = waiting.firstIndex(of: sequence) { waiting.remove(at: index) }
    }

    /// Committers whose records the next sync must still cover.
    func waitingBeyond(_ synced: UInt64) -> Int {
        waiting.reduce(0) { $0 + ($1 > synced ? 1 : 0) }
    }

    /// How long the next sync may wait for more committers, or nil to start at once (the crowd is
    /// back, no committer waits for it at all, as when a flush syncs alone, or no sync has been
    /// timed yet).
    func window(synced: UInt64) -> Double? {
        let waiting = waitingBeyond(synced)
        guard syncSeconds > 0, waiting > 0, waiting < expected else { return nil }
        return min(syncSeconds * Self.windowFraction, Self.maximumWindow)
    }

    /// Records a finished sync: its duration, and the committers inside `makeDurable` at its end
    /// (those it released, which will soon commit again, and those that arrived meanwhile).
    mutating func finishedSync(seconds: Double) {
        expected = max(1, waiting.count)
        let sample = max(0, seconds)
        syncSeconds = syncSeconds == 0 ? sample : syncSeconds + Self.smoothing * (sample - syncSeconds)
    }
}
