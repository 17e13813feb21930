// swift-tools-version:6.0
// ParleyDB's libFuzzer targets. A package of its own, depending on the root one, so that the
// sanitizer build never touches the main build. Build with `run` (it adds
// `-Xswiftc -sanitize=fuzzer,address`, without which Swift code gets no coverage; see README.md).
// One executable per fuzz target; `FuzzSupport` holds what they share (input reading, in-memory
// databases, checksum repair, the sample store, the consistency survey).
import PackageDescription

let parley: Target.Dependency = .product(name: "Parley", package: "ParleyDB")
let engine: Target.Dependency = .product(name: "ParleyEngine", package: "ParleyDB")
let interchange: Target.Dependency = .product(name: "ParleyInterchange", package: "ParleyDB")

let package = Package(
    name: "ParleyFuzz",
    dependencies: [
        // `name:` fixes the identity: without it the identity is the folder's name.
        .package(name: "ParleyDB", path: ".."),
    ],
    targets: [
        .target(name: "FuzzSupport", dependencies: [parley, engine]),
        .executableTarget(name: "fuzz-open", dependencies: ["FuzzSupport", parley]),
        .executableTarget(name: "fuzz-log", dependencies: ["FuzzSupport", parley]),
        .executableTarget(name: "fuzz-block", dependencies: ["FuzzSupport", parley]),
        .executableTarget(name: "fuzz-import", dependencies: ["FuzzSupport", parley, interchange]),
        .executableTarget(name: "fuzz-model", dependencies: ["FuzzSupport", parley]),
        // The shell's module is not a product of the root package; `FuzzShell` compiles its
        // sources (Sources/FuzzShell links to ../../Sources/ParleyShell) until it is one.
        .target(name: "FuzzShell", dependencies: [parley, interchange]),
        .executableTarget(name: "fuzz-repl", dependencies: ["FuzzSupport", "FuzzShell", parley]),
    ],
    swiftLanguageModes: [.v6]
)
