@_spi(Simulation) import MeridianRaft

/// Runs an interaction script in the style of etcd's raft tests against an in-memory
/// network and returns the trace: every message sent, every role change, every read state,
/// and whatever the inspection commands print.
///
/// Commands (one a line; `#` starts a comment):
/// - `campaign a`, `tick a [n]`, `propose a data`, `read-index a context`, `transfer a c`,
///   `compact a index`, `restart a`
/// - `deliver`: handle every node's Ready, then deliver the messages sent (one hop)
/// - `stabilize`: `deliver` until the network is quiet
/// - `partition a [b ...]`: cut the named nodes off from the others; `heal` reconnects all
/// - `join d`: start a new node `d` that knows the current voters and itself as a learner
/// - `membership a voters=a,b,c learners=d`: `a` proposes that membership
/// - `status`, `log a`, `members`: print state
struct InteractionScript {
    var nodes: [RaftNodeID: SimulatedNode] = [:]
    var names: [RaftNodeID]
    var inFlight: [RaftMessage] = []
    /// Nodes on the minority side of the current partition.
    var cutOff: Set<RaftNodeID> = []
    var trace: [String] = []

    init(nodes count: Int, configure: (inout RaftConfiguration) -> Void = { _ in }) {
        names = Array(["a", "b", "c", "d", "e"].prefix(count))
        for (offset, name) in names.enumerated() {
            var configuration = RaftConfiguration(id: name, voters: names, randomSeed: UInt64(offset + 1))
            configure(&configuration)
            nodes[name] = SimulatedNode(configuration: configuration)
        }
    }

    static func run(_ script: String, nodes count: Int = 3, configure: (inout RaftConfiguration) -> Void = { _ in }) -> String {
        var interpreter = InteractionScript(nodes: count, configure: configure)
        for line in script.split(separator: "\n") {
            let text = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0].trimmingCharacters()
            guard !text.isEmpty else { continue }
            interpreter.trace.append("> " + text)
            interpreter.execute(text.split(separator: " ").map(String.init))
        }
        return interpreter.trace.joined(separator: "\n")
    }

    private mutating func execute(_ words: [String]) {
        let target = words.count > 1 ? words[1] : ""
        switch words[0] {
        case "campaign":
            observe(target) { $0.campaign() }
        case "tick":
            let count = words.count > 2 ? Int(words[2])! : 1
            for _ in 0..<count { observe(target) { $0.tick() } }
        case "propose":
            var refusal: RaftError?
            observe(target) { node in
                do throws(RaftError) { try node.propose(Array(words[2].utf8)) } catch { refusal = error }
            }
            if let refusal { trace.append("\(target): propose refused: \(refusal)") }
        case "forward":
            var refusal: RaftError?
            observe(target) { node in
                do throws(RaftError) { try node.forwardProposal(Array(words[2].utf8)) } catch { refusal = error }
            }
            if let refusal { trace.append("\(target): forward refused: \(refusal)") }
        case "read-index":
            var refusal: RaftError?
            observe(target) { node in
                do throws(RaftError) { try node.readIndex(context: Array(words[2].utf8)) } catch { refusal = error }
            }
            if let refusal { trace.append("\(target): read-index refused: \(refusal)") }
        case "transfer":
            observe(target) { $0.transferLeadership(to: words[2]) }
        case "compact":
            let index = UInt64(words[2])!
            nodes[target]!.node.compact(through: index, snapshotData: Array("state@\(index)".utf8))
            nodes[target]!.storage.compact(through: index, membership: nodes[target]!.node.status.membership, data: Array("state@\(index)".utf8))
        case "join":
            let voters = nodes[names[0]]!.node.status.membership.voters
            let configuration = RaftConfiguration(id: target, voters: voters, learners: [target], randomSeed: UInt64(names.count + 1))
            nodes[target] = SimulatedNode(configuration: configuration)
            names.append(target)
        case "membership":
            func list(_ word: String, _ prefix: String) -> [RaftNodeID] {
                let rest = word.dropFirst(prefix.count)
                return rest.isEmpty ? [] : rest.split(separator: ",").map(String.init)
            }
            let proposed = RaftMembership(voters: list(words[2], "voters="), learners: words.count > 3 ? list(words[3], "learners=") : [])
            var refusal: RaftError?
            observe(target) { node in
                do throws(RaftError) { try node.proposeMembership(proposed) } catch { refusal = error }
            }
            if let refusal { trace.append("\(target): membership refused: \(refusal)") }
        case "members":
            for name in names { trace.append("\(name): \(nodes[name]!.node.status.membership) at \(nodes[name]!.node.status.membershipIndex)") }
        case "restart":
            nodes[target]!.restart()
            let hardState = nodes[target]!.storage.hardState
            trace.append("\(target) restarted with term=\(hardState.term) vote=\(hardState.vote ?? "-") commit=\(hardState.commit)")
        case "deliver":
            _ = deliverRound()
        case "stabilize":
            while deliverRound() {}
        case "partition":
            cutOff = Set(words.dropFirst())
        case "heal":
            cutOff = []
        case "status":
            for name in names { trace.append(describe(nodes[name]!.node.status)) }
        case "log":
            let storage = nodes[target]!.storage
            let snapshot = storage.snapshot.map { "snapshot \($0.term)/\($0.index) " } ?? ""
            trace.append("\(target) log: \(snapshot)[\(storage.entries.map(describe).joined(separator: ", "))]")
        default:
            preconditionFailure("unknown script command \(words[0])")
        }
    }

    /// Runs `action` on a node and records the role change it causes, if any.
    private mutating func observe(_ name: RaftNodeID, _ action: (inout RaftNode) -> Void) {
        let before = nodes[name]!.node.status
        action(&nodes[name]!.node)
        let after = nodes[name]!.node.status
        if before.role != after.role || before.term != after.term {
            trace.append("\(name) becomes \(after.role.rawValue) at term \(after.term)")
        }
    }

    /// Handles Readies and delivers messages until the network is quiet.
    mutating func stabilizeForTest() {
        while deliverRound() {}
    }

    /// Returns whether anything happened.
    private mutating func deliverRound() -> Bool {
        do {
            var progressed = false
            for name in names {
                guard let ready = nodes[name]!.handleReady() else { continue }
                progressed = true
                for read in ready.readStates {
                    trace.append("\(name): read-state index=\(read.index) context=\(String(decoding: read.context, as: UTF8.self))")
                }
                for message in ready.messages {
                    let dropped = cutOff.contains(message.from) != cutOff.contains(message.to)
                    trace.append(describe(message) + (dropped ? " (dropped)" : ""))
                    if !dropped { inFlight.append(message) }
                }
            }
            let delivering = inFlight
            inFlight = []
            for message in delivering {
                progressed = true
                observe(message.to) { $0.step(message) }
            }
            return progressed
        }
    }

    func describe(_ status: RaftStatus) -> String {
        "\(status.id): \(status.role.rawValue) term=\(status.term) leader=\(status.leader ?? "-") commit=\(status.commit) applied=\(status.applied) last=\(status.lastIndex) first=\(status.firstIndex)"
            + (status.leadTransferee.map { " transferee=\($0)" } ?? "")
    }

    func describe(_ entry: RaftEntry) -> String {
        "\(entry.term)/\(entry.index):" + (entry.kind == .empty ? "empty" : entry.kind == .membership ? "members(\(String(decoding: entry.data, as: UTF8.self)))" : String(decoding: entry.data, as: UTF8.self))
    }

    func describe(_ message: RaftMessage) -> String {
        var text = "\(message.from)->\(message.to) \(message.kind) term=\(message.term)"
        switch message.kind {
        case .preVote, .vote:
            text += " log=\(message.logTerm)/\(message.index)"
            if !message.context.isEmpty { text += " forced" }
        case .preVoteResponse, .voteResponse:
            if message.reject { text += " rejected" }
        case .append:
            text += " log=\(message.logTerm)/\(message.index) commit=\(message.commit) entries=[\(message.entries.map(describe).joined(separator: ", "))]"
        case .appendResponse:
            text += message.reject ? " rejected index=\(message.index) hint=\(message.rejectHint)" : " index=\(message.index)"
        case .heartbeat:
            text += " commit=\(message.commit)"
            if !message.context.isEmpty { text += " round=\(message.context.first!)" }
        case .heartbeatResponse:
            if !message.context.isEmpty { text += " round=\(message.context.first!)" }
        case .snapshot:
            text += " snapshot=\(message.snapshot!.term)/\(message.snapshot!.index)"
        case .timeoutNow:
            break
        case .propose:
            text += " entries=[\(message.entries.map { String(decoding: $0.data, as: UTF8.self) }.joined(separator: ", "))]"
        case .readIndex:
            text += " context=\(String(decoding: message.context, as: UTF8.self))"
        case .readIndexResponse:
            text += " index=\(message.index) context=\(String(decoding: message.context, as: UTF8.self))"
        }
        return text
    }
}

extension Substring {
    func trimmingCharacters() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
