// Ownership of the one write transaction. Not a mutex held across calls: a transaction may end on
// another thread than the one that began it (an `await` in between), and unlocking a pthread mutex
// from a thread that does not own it is undefined. A flag and a condition variable have no owner.

import Glibc

final class WriterGate: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var busy = false
    private var owner: pthread_t?

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
        while busy { pthread_cond_wait(condition, mutex) }
        busy = true
        owner = pthread_self()
    }

    func release() {
        pthread_mutex_lock(mutex)
        busy = false
        owner = nil
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }
}
