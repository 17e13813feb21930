// Locks for engine code. A pthread mutex rather than Synchronization.Mutex: ThreadSanitizer reports
// false races on the latter, and the engine's concurrency is checked under TSan.

import Glibc

/// A mutual-exclusion lock over `pthread_mutex_t`.
public final class PThreadMutex: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    public init() {
        mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }

    /// Runs `body` with the lock held.
    @inline(__always)
    public func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// A value guarded by a pthread mutex, kept as a stored property of the object it belongs to.
///
/// A noncopyable struct rather than a generic class: a generic class's type is built by the Swift
/// runtime the first time each instantiation is used, and opening a database used a dozen of them
/// (about a tenth of a warm open in a fresh process: BENCHMARKS.md, section *Open, second pass*).
/// This struct's layout is two pointers whatever the value, so its owners' layouts are fixed at
/// compile time. To share a locked value between objects or threads, hold it in a class.
public struct Locked<Value>: ~Copyable, @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let value: UnsafeMutablePointer<Value>

    public init(_ value: Value) {
        mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        self.value = UnsafeMutablePointer<Value>.allocate(capacity: 1)
        self.value.initialize(to: value)
    }

    deinit {
        value.deinitialize(count: 1)
        value.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` on the value with the mutex held.
    @inline(__always)
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value.pointee)
    }
}

/// A locked value shared by reference: captured by closures on several threads, or held by more
/// than one object. (A generic class, so its type is built at run time on first use; the engine's
/// own state uses `Locked` inside its objects instead.)
public final class SharedLocked<Value>: @unchecked Sendable {
    private let locked: Locked<Value>

    public init(_ value: Value) { locked = Locked(value) }

    /// Runs `body` on the value with the mutex held.
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        try locked.withLock(body)
    }
}
