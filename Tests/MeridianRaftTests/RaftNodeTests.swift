@_spi(Simulation) import MeridianRaft
import Testing

/// Direct tests of the node's contracts that the scripts and the simulation do not spell out.
@Suite("RaftNode contracts")
struct RaftNodeTests {
    static let voters: [RaftNodeID] = ["a", "b", "c"]

    static func electedLeader() -> (leader: InteractionScript, status: RaftStatus) {
        var script = InteractionScript(nodes: 3)
        script.nodes["a"]!.node.campaign()
        script.stabilizeForTest()
        return (script, script.nodes["a"]!.node.status)
    }

    @Test func aFollowerRefusesProposalsAndNamesTheLeaderButForwardsReadsAndForwardedProposals() {
        let (script, _) = Self.electedLeader()
        var follower = script.nodes["b"]!.node
        do throws(RaftError) {
            try follower.propose([1])
            Issue.record("a follower appended a proposal")
        } catch {
            #expect(error == .notLeader)
            #expect(error.leader == "a")
        }
        // A read index and a forwarded proposal go to the leader, not into a read state or the log.
        #expect(throws: Never.self) { try follower.readIndex(context: [7]) }
        #expect(throws: Never.self) { try follower.forwardProposal([8]) }
        let ready = follower.ready()
        #expect(ready.readStates.isEmpty && ready.entries.isEmpty)
        #expect(ready.messages.map(\.kind) == [.readIndex, .propose])
        #expect(ready.messages.allSatisfy { $0.to == "a" })
    }

    @Test func garbageFromPeersIsDroppedWithoutTrapping() {
        var generator = SimulationGenerator(state: 7)
        let (script, _) = Self.electedLeader()
        let kinds = RaftMessageKind.allCases
        let numbers: [UInt64] = [0, 1, 2, 3, 5, UInt64.max, UInt64.max - 1, 1 << 62, 1 << 63]
        for name in Self.voters {
            var node = script.nodes[name]!.node
            for _ in 0..<3000 {
                func number() -> UInt64 { numbers.randomElement(using: &generator)! }
                let from = (Self.voters + ["stranger"]).randomElement(using: &generator)!
                let index = number()
                let entries = (0..<Int.random(in: 0..<3, using: &generator)).map { offset in
                    RaftEntry(term: number(), index: generator.chance(70) ? index &+ 1 &+ UInt64(offset) : number())
                }
                let snapshot = generator.chance(50) ? RaftSnapshot(index: number(), term: number(), membership: RaftMembership(voters: Self.voters), data: []) : nil
                node.step(RaftMessage(
                    kind: kinds.randomElement(using: &generator)!, from: from, to: generator.chance(90) ? name : "b",
                    term: number(), logTerm: number(), index: index, entries: entries, commit: number(),
                    reject: generator.chance(50), rejectHint: number(), snapshot: snapshot,
                    context: generator.chance(50) ? [] : (0..<8).map { _ in UInt8.random(in: 0...255, using: &generator) }
                ))
                if generator.chance(10) { node.tick() }
                if node.hasReady { node.advance(node.ready()) }
            }
        }
    }

    @Test func oneSeedReplaysARunExactly() {
        var first = ClusterSimulation(seed: 42, voters: 5)
        var second = ClusterSimulation(seed: 42, voters: 5)
        #expect(first.run(steps: 1500) == nil)
        #expect(second.run(steps: 1500) == nil)
        #expect(first.leaderOfTerm == second.leaderOfTerm)
        #expect(first.committed == second.committed)
    }

    @Test func aCandidateWithAStaleLogIsRefused() {
        var node = RaftNode(
            configuration: RaftConfiguration(id: "a", voters: Self.voters, randomSeed: 1),
            hardState: RaftHardState(term: 2, vote: nil, commit: 1),
            entries: [RaftEntry(term: 1, index: 1), RaftEntry(term: 2, index: 2)], snapshot: nil, applied: 0
        )
        node.step(RaftMessage(kind: .vote, from: "b", to: "a", term: 3, logTerm: 1, index: 5))
        node.step(RaftMessage(kind: .vote, from: "c", to: "a", term: 3, logTerm: 2, index: 2))
        let ready = node.ready()
        #expect(ready.messages.map(\.reject) == [true, false])
        #expect(ready.hardState == RaftHardState(term: 3, vote: "c", commit: 1))
        #expect(ready.committedEntries == [RaftEntry(term: 1, index: 1)])
    }
}
