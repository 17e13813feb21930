// One program run against the store (in memory, 4 KiB pages, small blocks, full durability,
// checkpoints as often as the program says) and the model side by side. Every answer is
// compared; after a reopen, a power loss or a crash inside a write, everything is compared and
// the integrity check must pass. A crash inside a write may keep or lose it (all of it), and
// must keep it when the write returned: acknowledged commits survive power loss.

import FuzzSupport
import Glibc
import Parley

final class ModelRun {
    static let maximumSteps = 150

    var disk = SimulatedDisk()
    let clock = FuzzClock()
    var model = ChatModel()
    var database: Database
    /// Every conversation id the store returned, deleted ones included.
    var known: [ConversationID] = []
    var stateKeys: [StateKey] = []
    var history: [String] = []
    let checkpointEvery: Int
    let blockTargetBytes: Int

    init(config: UInt8) {
        checkpointEvery = [0, 2, 5, 11][Int(config & 3)]
        blockTargetBytes = [1024, 1024, 2048, 4096][Int(config >> 2 & 3)]
        database = Self.open(disk: disk, clock: clock, blockTargetBytes: blockTargetBytes)
    }

    static func open(disk: SimulatedDisk, clock: FuzzClock, blockTargetBytes: Int) -> Database {
        do {
            return try Database.open(
                path: FuzzDatabase.path, options: FuzzDatabase.options(disk: disk, clock: clock, blockTargetBytes: blockTargetBytes))
        } catch {
            fuzzFailure("opening the database failed: \(error)")
        }
    }

    func fail(_ message: String) -> Never {
        fuzzFailure(message + "\nlast steps:\n  " + history.suffix(30).joined(separator: "\n  "))
    }

    func note(_ text: String) {
        history.append("#\(history.count) " + String(text.prefix(400)))
    }

    /// Set PARLEY_FUZZ_VERBOSE to print each run's steps and outcomes.
    let verbose = getenv("PARLEY_FUZZ_VERBOSE") != nil

    // MARK: - The loop

    func run(_ program: inout ProgramDecoder) {
        var steps = 0
        while steps < Self.maximumSteps, let step = program.next(model, known: known, now: clock.now) {
            steps += 1
            note("\(step)")
            execute(step)
            if checkpointEvery > 0 && steps % checkpointEvery == 0 {
                note("automatic checkpoint")
                if case .failed(let error) = Outcome.of({ try StoreSide.perform(.checkpoint, database) }) {
                    fail("a checkpoint failed: \(error)")
                }
            }
        }
        compareEverything("at the end", with: model)
        if verbose {
            printError(history.joined(separator: "\n") + "\n")
            printError("end: \(model.users.count) users, \(model.threads.count) conversations, \(model.nextMessageID - 1) messages appended\n")
        }
        reopen()
        do {
            try database.close()
        } catch {
            fail("closing at the end failed: \(error)")
        }
    }

    func execute(_ step: Step) {
        switch step {
        case .ask(let question):
            let found = Outcome.of { try database.read { try StoreSide.answer(question, $0) } }
            let expected = Outcome.of { try model.answer(question, now: clock.now) }
            if found != expected { fail("\(question):\n  store: \(found)\n  model: \(expected)") }
            if verbose { note("  -> \(found)") }
        case .change(let mutation):
            change(mutation)
        case .crash(let mutation, let budget, let seed, let recoveryBudget):
            crash(during: mutation, budget: budget, seed: seed, recoveryBudget: recoveryBudget)
        case .powerLoss(let seed, let recoveryBudget):
            disk.crash(afterOperations: 0)
            try? database.close()
            recover(seed: seed, recoveryBudget: recoveryBudget)
            compareEverything("after a power loss between operations", with: model)
        case .reopen:
            reopen()
        case .advanceClock(let delta):
            clock.advance(by: delta)
        }
    }

    func remember(_ mutation: Mutation) {
        switch mutation {
        case .setState(let key, _, _), .touchState(let key, _), .deleteState(let key):
            if !stateKeys.contains(key) { stateKeys.append(key) }
        default: break
        }
    }

    func change(_ mutation: Mutation) {
        remember(mutation)
        let found = Outcome.of { try StoreSide.perform(mutation, database) }
        var created: ConversationID?
        if case .created(let id) = found {
            created = id
            known.append(id)
        }
        var next = model
        let expected = Outcome.of { try next.perform(mutation, created: created, now: clock.now) }
        if found != expected { fail("\(mutation):\n  store: \(found)\n  model: \(expected)") }
        if verbose { note("  -> \(found)") }
        if case .failed = found { return }
        model = next
    }

    // MARK: - Crashes, power loss, reopening

    func crash(during mutation: Mutation, budget: Int, seed: UInt64, recoveryBudget: Int?) {
        remember(mutation)
        let before = model
        var after = model
        let expected = Outcome.of { try after.perform(mutation, created: nil, now: clock.now) }
        if case .failed = expected { after = model }
        disk.crash(afterOperations: budget)
        let found = Outcome.of { try StoreSide.perform(mutation, database) }
        let crashed = disk.hasCrashed
        disk.crash(afterOperations: 0)
        try? database.close()
        let acknowledged: Bool
        if crashed && found.isStorageFailure {
            acknowledged = false
        } else {
            if found != expected { fail("\(mutation) with power failing after \(budget) operations:\n  store: \(found)\n  model: \(expected)") }
            if case .failed = found { acknowledged = false } else { acknowledged = true }
        }
        recover(seed: seed, recoveryBudget: recoveryBudget)
        let questions = everything(for: [before, after])
        let state = storeAnswers(questions)
        if state == modelAnswers(questions, after) {
            model = after
        } else if !acknowledged && state == modelAnswers(questions, before) {
            model = before
        } else {
            fail("after power failed in \(mutation) (\(acknowledged ? "" : "not ")acknowledged), the store is neither before nor after it:\n"
                + difference(questions, state, modelAnswers(questions, after)))
        }
        checkIntegrity("after a crash")
    }

    /// Replaces the disk with what losing power leaves, sometimes losing power again while
    /// recovering, and opens the database on it.
    func recover(seed: UInt64, recoveryBudget: Int?) {
        var survivor = disk.powerLoss(seed: seed)
        if let recoveryBudget {
            survivor.crash(afterOperations: recoveryBudget)
            let options = FuzzDatabase.options(disk: survivor, clock: clock, blockTargetBytes: blockTargetBytes)
            if let interrupted = try? Database.open(path: FuzzDatabase.path, options: options) {
                _ = try? interrupted.stats()
                try? interrupted.close()
            }
            survivor = survivor.powerLoss(seed: seed &+ 1)
        }
        disk = survivor
        database = Self.open(disk: disk, clock: clock, blockTargetBytes: blockTargetBytes)
    }

    func reopen() {
        do {
            try database.close()
        } catch {
            fail("close failed: \(error)")
        }
        database = Self.open(disk: disk, clock: clock, blockTargetBytes: blockTargetBytes)
        compareEverything("after reopening", with: model)
    }

    // MARK: - Whole-state comparison

    /// Every question worth asking of these states.
    func everything(for models: [ChatModel]) -> [Question] {
        let handles = Array(Tables.handles.dropLast())
        var questions: [Question] = [.stats]
        for id in known {
            questions += [.conversation(id), .messages(id, MessageQuery(order: .oldestFirst)), .context(id, budget: 40)]
            questions += handles.map { .marker($0, id) }
        }
        for handle in handles { questions += [.user(handle), .inbox(handle, InboxQuery(limit: 1000)), .unread(handle, nil)] }
        questions += stateKeys.map { .state($0) }
        let top = models.map(\.nextMessageID).max() ?? 1
        questions += (0...top).map { .message(MessageID(rawValue: $0)) }
        return questions
    }

    func storeAnswers(_ questions: [Question]) -> [Outcome] {
        do {
            return try database.read { reader in questions.map { question in Outcome.of { try StoreSide.answer(question, reader) } } }
        } catch {
            fail("a read failed: \(error)")
        }
    }

    func modelAnswers(_ questions: [Question], _ model: ChatModel) -> [Outcome] {
        questions.map { question in Outcome.of { try model.answer(question, now: clock.now) } }
    }

    func difference(_ questions: [Question], _ found: [Outcome], _ expected: [Outcome]) -> String {
        for index in questions.indices where found[index] != expected[index] {
            return "\(questions[index]):\n  store: \(found[index])\n  model: \(expected[index])"
        }
        return "no difference"
    }

    func compareEverything(_ when: String, with model: ChatModel) {
        let questions = everything(for: [model])
        let found = storeAnswers(questions)
        let expected = modelAnswers(questions, model)
        if found != expected { fail("\(when), the store differs from the model:\n" + difference(questions, found, expected)) }
        checkIntegrity(when)
    }

    func checkIntegrity(_ when: String) {
        do {
            let result = try database.checkIntegrity()
            if !result.isSound { fail("\(when), the integrity check fails: \(result.problems)") }
        } catch {
            fail("\(when), the integrity check threw: \(error)")
        }
    }
}
