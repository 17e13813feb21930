// The clock the database reads, made a function of the ledger: transaction `seq` runs at
// `time(seq)`, so state expiry, purge and archive cutoffs and user creation times can be
// recomputed by the parent.
//
// Background checkpoints also read the clock (they delete expired state). They must never see a
// time later than the newest *committed* transaction: a sweep that saw `time(j)` while `j` was
// still open could reach the log before `j` and survive a kill that loses `j`, deleting a value
// that the state at `j - 1` still holds. So the transaction's own time is shown only to the
// workload thread while that transaction is open; every other reader sees the last commit's time.

import Glibc
import Parley
import Synchronization

final class LogicalClock: Sendable {
    /// The time of ledger position 0: 2024-01-01T00:00:00Z.
    static let origin = Timestamp(microseconds: 1_704_067_200_000_000)
    /// Logical time between two transactions: one minute, so that a day is 1,440 transactions and
    /// TTLs of seconds to hours expire within a cycle or two.
    static let step: Int64 = 60_000_000

    /// When transaction `seq` runs.
    static func time(_ seq: UInt64) -> Timestamp {
        Timestamp(microseconds: origin.microseconds + Int64(seq) * step)
    }

    private let committed: Atomic<Int64>
    /// The open transaction's time, or `Int64.min` when none is open.
    private let open = Atomic<Int64>(Int64.min)
    /// The thread that runs the workload's transactions (pthread_t is an integer on Linux).
    private let workloadThread: pthread_t

    /// A clock at ledger position `seq`, whose transactions run on the calling thread.
    init(committed seq: UInt64) {
        committed = Atomic(Self.time(seq).microseconds)
        workloadThread = pthread_self()
    }

    /// Transaction `seq` is about to start on the workload thread.
    func begin(_ seq: UInt64) { open.store(Self.time(seq).microseconds, ordering: .sequentiallyConsistent) }

    /// Transaction `seq` committed (true) or failed (false).
    func end(_ seq: UInt64, committed: Bool) {
        if committed { self.committed.store(Self.time(seq).microseconds, ordering: .sequentiallyConsistent) }
        open.store(Int64.min, ordering: .sequentiallyConsistent)
    }

    /// Moves the committed time (the parent, once it knows the ledger position it checks).
    func setCommitted(_ seq: UInt64) { committed.store(Self.time(seq).microseconds, ordering: .sequentiallyConsistent) }

    /// What the database reads.
    func now() -> Timestamp {
        let pending = open.load(ordering: .sequentiallyConsistent)
        if pending != Int64.min, pthread_equal(pthread_self(), workloadThread) != 0 {
            return Timestamp(microseconds: pending)
        }
        return Timestamp(microseconds: committed.load(ordering: .sequentiallyConsistent))
    }
}
