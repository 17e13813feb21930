// What every target shares at its edges: failing with a description (libFuzzer saves the input
// as a crash), and the seed-writing mode that regenerates the committed corpora from the real
// code (`Fuzz/run seeds`).

import Glibc

/// Stops the run: the harness found a wrong answer. libFuzzer catches the trap and saves the input.
public func fuzzFailure(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    printError("\n==parley-fuzz== FAILURE: \(message)\n")
    fatalError(message, file: file, line: line)
}

/// Writes `text` to standard error, unbuffered.
public func printError(_ text: String) {
    let bytes = Array(text.utf8)
    bytes.withUnsafeBytes { buffer in
        guard let base = buffer.baseAddress else { return }
        var start = 0
        while start < buffer.count {
            let written = write(2, base + start, buffer.count - start)
            guard written > 0 else { return }
            start += written
        }
    }
}

/// A seed for a corpus: a file name (without directory) and its bytes.
public struct Seed {
    public var name: String
    public var bytes: [UInt8]
    public init(_ name: String, _ bytes: [UInt8]) {
        self.name = name
        self.bytes = bytes
    }
}

public enum SeedMode {
    /// Set to a directory, a target writes its seeds there (as `seed-NAME`) and exits instead of
    /// fuzzing. `LLVMFuzzerInitialize` runs before libFuzzer reads its flags, so this needs none.
    public static let variable = "PARLEY_FUZZ_WRITE_SEEDS"

    public static func runIfRequested(_ make: () throws -> [Seed]) {
        guard let value = getenv(variable) else { return }
        let directory = String(cString: value)
        do {
            let seeds = try make()
            for seed in seeds { try write(seed.bytes, to: directory + "/seed-" + seed.name) }
            print("wrote \(seeds.count) seeds (\(seeds.reduce(0) { $0 + $1.bytes.count }) bytes) to \(directory)")
            exit(0)
        } catch {
            printError("writing seeds failed: \(error)\n")
            exit(1)
        }
    }

    struct WriteFailure: Error, CustomStringConvertible {
        let description: String
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        guard let file = fopen(path, "wb") else { throw WriteFailure(description: "cannot create \(path)") }
        defer { fclose(file) }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, bytes.count, file) }
        guard written == bytes.count else { throw WriteFailure(description: "short write to \(path)") }
    }
}

/// The bytes handed to `LLVMFuzzerTestOneInput`.
public func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}
