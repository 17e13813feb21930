// A detached POSIX thread, for the engine's one long-lived thread (`BackgroundWorker`); public so
// that tools built on the engine (the benchmark's concurrent writers) start theirs the same way.
//
// Foundation's `Thread` did this before; importing Foundation for it made every program linking
// the engine load Foundation, its internationalization library and ICU, and made the Swift
// runtime's first lookup of each protocol conformance search their records too (section *Open,
// second pass* of BENCHMARKS.md). The engine uses only Glibc and Dispatch.

import CParleySupport
import Glibc

/// Starts detached POSIX threads.
public enum DetachedThread {
    private final class Start {
        let name: String
        let body: () -> Void
        init(name: String, body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts `body` on a new detached thread named `name` (at most 15 bytes are kept).
    /// Returns false, and runs nothing, when the system refuses a thread (`pthread_create`'s
    /// EAGAIN: a process or user thread limit).
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
        let start = Unmanaged.passRetained(Start(name: name, body: body))
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let result = pthread_create(&thread, &attributes, { context in
            guard let context else { return nil }
            let start = Unmanaged<Start>.fromOpaque(context).takeRetainedValue()
            parley_set_thread_name(start.name)
            start.body()
            return nil
        }, start.toOpaque())
        guard result == 0 else {
            start.release()
            return false
        }
        return true
    }
}
