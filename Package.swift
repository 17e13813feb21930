// swift-tools-version:6.0
// ParleyDB: an embedded database engine for conversations.
import PackageDescription

let package = Package(
    name: "ParleyDB",
    products: [
        .library(name: "Parley", targets: ["Parley"]),
        .library(name: "ParleyEngine", targets: ["ParleyEngine"]),
        .library(name: "ParleyInterchange", targets: ["ParleyInterchange"]),
        .executable(name: "parley", targets: ["parley"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // The system's liblz4 (Debian: liblz4-dev).
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        // Small C helpers the Swift overlay cannot reach: CRC-32C with the CPU's instruction.
        .target(name: "CParleySupport"),
        .target(
            name: "ParleyEngine",
            dependencies: ["CParleySupport"]
        ),
        .target(
            name: "Parley",
            dependencies: ["ParleyEngine", "CLZ4", "CParleySupport"]
        ),
        // The system's zlib (Debian: zlib1g-dev), for gzipped imports.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // JSON Lines import and export of conversations.
        .target(
            name: "ParleyInterchange",
            dependencies: ["Parley", "CZlib"]
        ),
        // The system's libedit (Debian: libedit-dev): line editing and history for the REPL.
        .systemLibrary(
            name: "CEditLine",
            pkgConfig: "libedit",
            providers: [.apt(["libedit-dev"])]
        ),
        // The shell's commands, parser and output modes (the REPL and its tests share them).
        .target(
            name: "ParleyShell",
            dependencies: ["Parley", "ParleyInterchange"]
        ),
        .executableTarget(
            name: "parley",
            dependencies: [
                "Parley",
                "ParleyShell",
                "CEditLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // A child process for tests that need a second process (file locks, kill -9).
        .executableTarget(
            name: "parley-test-helper",
            dependencies: ["ParleyEngine"]
        ),
        // Figures for the log and group commit (run in release; not a test).
        .executableTarget(
            name: "parley-engine-bench",
            dependencies: ["ParleyEngine"],
            path: "Benchmarks/EngineBench"
        ),
        // SQLite's C library (Debian: libsqlite3-dev), the benchmark's comparison side.
        .systemLibrary(
            name: "CSQLite",
            path: "Benchmarks/CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // The chat workload of BENCHMARKS.md against ParleyDB and SQLite, side by side.
        .executableTarget(
            name: "parley-bench",
            dependencies: [
                "Parley",
                "ParleyEngine",
                "ParleyInterchange",
                "CSQLite",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Benchmarks/ParleyBench"
        ),
        // The kill loop: a writer process killed at random, then reopened and checked.
        .executableTarget(
            name: "parley-torture",
            dependencies: [
                "Parley",
                "ParleyEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "CLZ4Tests",
            dependencies: ["CLZ4"]
        ),
        .testTarget(
            name: "ParleyEngineTests",
            dependencies: ["ParleyEngine", "parley-test-helper"]
        ),
        .testTarget(
            name: "ParleyTests",
            dependencies: ["Parley"]
        ),
        .testTarget(
            name: "ParleyInterchangeTests",
            dependencies: ["ParleyInterchange"]
        ),
        .testTarget(
            name: "ParleyCLITests",
            dependencies: ["parley", "ParleyShell"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
