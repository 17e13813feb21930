// Fuzz target `model`: the input is a program of chat-store operations (Program.swift), run
// against ParleyDB on a simulated disk and against a naive model (ChatModel.swift), with every
// answer compared (ModelRun.swift). A mismatch, a failed integrity check or a lost acknowledged
// commit traps with a description and the last steps.
//
// Input: config byte (checkpoint every 0/2/5/11 steps; blocks of 1, 1, 2 or 4 KiB) · steps.

import FuzzSupport
import Parley

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    SeedMode.runIfRequested(ModelSeeds.make)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModel(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzBytes(data, size)
    guard let config = bytes.first else { return 0 }
    var program = ProgramDecoder(Array(bytes.dropFirst()))
    ModelRun(config: config).run(&program)
    return 0
}
