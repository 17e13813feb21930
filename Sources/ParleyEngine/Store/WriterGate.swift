// Ownership of the one write transaction. Not a mutex held across calls: a transaction may end on
// another thread than the one that began it (an `await` in between), and unlocking a pthread mutex
// from a thread that does not own it is undefined. A flag and a condition variable have no owner.
//
// A thread that finds the gate taken first yields the processor for a short while before it sleeps:
// an append holds the gate for tens of microseconds, and waking a sleeping thread takes about as
// long again on a virtual machine. Durable committers released by one fdatasync queue here one
// behind another, and each hand-off that needed a wake-up lengthened the whole group's cycle.

import Glibc

final class WriterGate: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var busy = false
    private var owner: pthread_t?
    /// Threads asleep on `condition`.
    private var sleepers = 0
    /// How long `acquire` yields and retries before it sleeps: a few appends' worth, so a long
    /// transaction (a checkpoint's sealing, a batch) costs a waiter little processor time.
    static let spinSeconds = 100e-6

    init() {
        mutex.initialize(to: pthread_mutex_t())
        condition.initialize(to: pthread_cond_t())
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Waits until no write transaction is open, then takes the gate. Throws instead of waiting
    /// forever when the calling thread itself holds it.
    func acquire() throws {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if busy, let owner, pthread_equal(owner, pthread_self()) != 0 {
            throw EngineError.invalidArgument("a write transaction is already open on this thread")
        }
        while busy {
            let spinUntil = monotonicSeconds() + Self.spinSeconds
            while busy, monotonicSeconds() < spinUntil {
                pthread_mutex_unlock(mutex)
                sched_yield()
                pthread_mutex_lock(mutex)
            }
            guard busy else { break }
            // Woken, it yields again before sleeping again: a release wakes one sleeper, but a
            // thread yielding meanwhile may take the gate first (the gate is not first come,
            // first served).
            sleepers += 1
            pthread_cond_wait(condition, mutex)
            sleepers -= 1
        }
        busy = true
        owner = pthread_self()
    }

    func release() {
        pthread_mutex_lock(mutex)
        busy = false
        owner = nil
        if sleepers > 0 { pthread_cond_signal(condition) }
        pthread_mutex_unlock(mutex)
    }
}
