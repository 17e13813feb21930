// The background thread of an engine: syncs `normal` and `async` commits at the configured
// interval and starts checkpoints when the memtable passes its budget or age.

import Foundation

final class BackgroundWorker: @unchecked Sendable {
    private weak var engine: Engine?
    private let condition = NSCondition()
    private var stopping = false
    private var stopped = false
    private var nudged = false
    private let interval: Double
    private let budget: Int

    init(engine: Engine) {
        self.engine = engine
        self.interval = max(0.001, engine.options.syncInterval)
        self.budget = engine.options.checkpointTrigger
        let thread = Thread { [self] in run() }
        thread.name = "parley-background"
        thread.start()
    }

    private func run() {
        while true {
            condition.lock()
            if !stopping && !nudged { _ = condition.wait(until: Date(timeIntervalSinceNow: interval)) }
            nudged = false
            let stop = stopping
            condition.unlock()
            // An engine released without close() leaves nothing for this thread to do.
            guard !stop, let engine else { break }
            engine.backgroundPass()
        }
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// Wakes the thread early when the memtable is past the checkpoint trigger.
    func nudgeIfNeeded(memtableBytes: Int) {
        guard memtableBytes >= budget else { return }
        condition.lock()
        nudged = true
        condition.signal()
        condition.unlock()
    }

    /// Stops the thread and waits for it.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !stopped { condition.wait() }
        condition.unlock()
    }
}
