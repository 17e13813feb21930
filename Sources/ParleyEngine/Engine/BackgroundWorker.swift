// The background thread of an engine: syncs `normal` and `async` commits at the configured
// interval and starts checkpoints when the memtable passes its budget or age.

import Glibc

final class BackgroundWorker: @unchecked Sendable {
    private weak var engine: Engine?
    // `stopping`, `stopped` and `nudged` are read and written with `mutex` held.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var stopping = false
    private var stopped = false
    private var nudged = false
    private let interval: Double
    private let budget: Int

    /// Starts the thread; nil when the system refuses one (the engine tries again at its next
    /// commit, and meanwhile a writer past the budget checkpoints itself).
    init?(engine: Engine) {
        self.engine = engine
        self.interval = max(0.001, engine.options.syncInterval)
        self.budget = engine.options.checkpointTrigger
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        // Timed waits on the monotonic clock: a change of the wall clock neither stalls nor
        // hurries the syncs.
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
        guard DetachedThread.start(name: "parley-bg", { [self] in run() }) else { return nil }
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    private func run() {
        while true {
            pthread_mutex_lock(mutex)
            if !stopping && !nudged {
                var deadline = timespec(seconds: monotonicSeconds() + interval)
                _ = pthread_cond_timedwait(condition, mutex, &deadline)
            }
            nudged = false
            let stop = stopping
            pthread_mutex_unlock(mutex)
            // An engine released without close() leaves nothing for this thread to do.
            guard !stop, let engine else { break }
            engine.backgroundPass()
        }
        pthread_mutex_lock(mutex)
        stopped = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Wakes the thread early when the memtable is past the checkpoint trigger.
    func nudgeIfNeeded(memtableBytes: Int) {
        guard memtableBytes >= budget else { return }
        pthread_mutex_lock(mutex)
        nudged = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Stops the thread and waits for it.
    func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(condition)
        while !stopped { pthread_cond_wait(condition, mutex) }
        pthread_mutex_unlock(mutex)
    }
}
