@_spi(Simulation) import MeridianRaft
import Testing

/// Interaction scripts in etcd's style: each runs against an in-memory network and must
/// produce exactly the trace written below it. The traces were generated, then reviewed by
/// hand against the Raft paper; regenerate one only on purpose, and review the difference.
@Suite("Raft interaction scripts")
struct InteractionTests {
    func check(_ script: String, nodes: Int = 3, configure: (inout RaftConfiguration) -> Void = { _ in }, expected: String, name: String = #function) {
        let trace = InteractionScript.run(script, nodes: nodes, configure: configure)
        #expect(trace == expected)
        if trace != expected { print("BEGIN \(name.prefix { $0 != "(" })\n\(trace)\nEND \(name.prefix { $0 != "(" })") }
    }

    @Test func anElectedLeaderReplicatesItsEmptyEntryThenProposals() {
        check(
            """
            campaign a
            stabilize
            propose a x
            stabilize
            status
            """,
            nodes: 3, configure: { _ in },
            expected: """
            > campaign a
            a becomes preCandidate at term 0
            > stabilize
            a->b preVote term=1 log=0/0
            a->c preVote term=1 log=0/0
            b->a preVoteResponse term=1
            c->a preVoteResponse term=1
            a becomes candidate at term 1
            a->b vote term=1 log=0/0
            a->c vote term=1 log=0/0
            b becomes follower at term 1
            c becomes follower at term 1
            b->a voteResponse term=1
            c->a voteResponse term=1
            a becomes leader at term 1
            a->b append term=1 log=0/0 commit=0 entries=[1/1:empty]
            a->c append term=1 log=0/0 commit=0 entries=[1/1:empty]
            b->a appendResponse term=1 index=1
            c->a appendResponse term=1 index=1
            a->b append term=1 log=1/1 commit=1 entries=[]
            a->c append term=1 log=1/1 commit=1 entries=[]
            b->a appendResponse term=1 index=1
            c->a appendResponse term=1 index=1
            > propose a x
            > stabilize
            a->b append term=1 log=1/1 commit=1 entries=[1/2:x]
            a->c append term=1 log=1/1 commit=1 entries=[1/2:x]
            b->a appendResponse term=1 index=2
            c->a appendResponse term=1 index=2
            a->b append term=1 log=1/2 commit=2 entries=[]
            a->c append term=1 log=1/2 commit=2 entries=[]
            b->a appendResponse term=1 index=2
            c->a appendResponse term=1 index=2
            > status
            a: leader term=1 leader=a commit=2 applied=2 last=2 first=1
            b: follower term=1 leader=a commit=2 applied=2 last=2 first=1
            c: follower term=1 leader=a commit=2 applied=2 last=2 first=1
            """
        )
    }

    /// The leader is lost; b times out while c, which heard the leader later, is still in
    /// the leader's lease and ignores b's pre-votes. b asks again every few ticks (2 to 6
    /// here), so it wins within a few ticks of c's lease ending, instead of a whole
    /// election timeout (10 to 19 ticks) after its first round.
    @Test func anIgnoredPreVoteRoundIsAskedAgainSoon() {
        check(
            """
            campaign a
            stabilize
            partition a
            tick b 20
            stabilize
            tick c 10
            stabilize
            tick b 6
            stabilize
            status
            """,
            nodes: 3, configure: { _ in },
            expected: """
            > campaign a
            a becomes preCandidate at term 0
            > stabilize
            a->b preVote term=1 log=0/0
            a->c preVote term=1 log=0/0
            b->a preVoteResponse term=1
            c->a preVoteResponse term=1
            a becomes candidate at term 1
            a->b vote term=1 log=0/0
            a->c vote term=1 log=0/0
            b becomes follower at term 1
            c becomes follower at term 1
            b->a voteResponse term=1
            c->a voteResponse term=1
            a becomes leader at term 1
            a->b append term=1 log=0/0 commit=0 entries=[1/1:empty]
            a->c append term=1 log=0/0 commit=0 entries=[1/1:empty]
            b->a appendResponse term=1 index=1
            c->a appendResponse term=1 index=1
            a->b append term=1 log=1/1 commit=1 entries=[]
            a->c append term=1 log=1/1 commit=1 entries=[]
            b->a appendResponse term=1 index=1
            c->a appendResponse term=1 index=1
            > partition a
            > tick b 20
            b becomes preCandidate at term 1
            > stabilize
            b->a preVote term=2 log=1/1 (dropped)
            b->c preVote term=2 log=1/1
            > tick c 10
            > stabilize
            > tick b 6
            > stabilize
            b->a preVote term=2 log=1/1 (dropped)
            b->c preVote term=2 log=1/1
            b->a preVote term=2 log=1/1 (dropped)
            b->c preVote term=2 log=1/1
            c->b preVoteResponse term=2
            c->b preVoteResponse term=2
            b becomes candidate at term 2
            b->a vote term=2 log=1/1 (dropped)
            b->c vote term=2 log=1/1
            c becomes follower at term 2
            c->b voteResponse term=2
            b becomes leader at term 2
            b->a append term=2 log=1/1 commit=1 entries=[2/2:empty] (dropped)
            b->c append term=2 log=1/1 commit=1 entries=[2/2:empty]
            c->b appendResponse term=2 index=2
            b->c append term=2 log=2/2 commit=2 entries=[]
            c->b appendResponse term=2 index=2
            > status
            a: leader term=1 leader=a commit=1 applied=1 last=1 first=1
            b: leader term=2 leader=b commit=2 applied=2 last=2 first=1
            c: follower term=2 leader=b commit=2 applied=2 last=2 first=1
            """
        )
    }

    @Test func preVoteKeepsAPartitionedNodeFromDisruptingTheGroup() {
        check(
            """
            campaign a
            stabilize
            partition c
            tick c 20
            stabilize
            heal
            tick c 20
            stabilize
            status
            tick a
            stabilize
            status
            """,
            nodes: 3, configure: { _ in },
            expected: """
            > campaign a
            a becomes preCandidate at term 0
            > stabilize
            a->b preVote term=1 log=0/0
            a->c preVote term=1 log=0/0
            b->a preVoteResponse term=1
            c->a preVoteResponse term=1
            a becomes candidate at term 1
            a->b vote term=1 log=0/0
            a->c vote term=1 log=0/0
            b becomes follower at term 1
            c becomes follower at term 1
            b->a voteResponse term=1
            c->a voteResponse term=1
            a becomes leader at term 1
            a->b append term=1 log=0/0 commit=0 entries=[1/1:empty]
            a->c append term=1 log=0/0 commit=0 entries=[1/1:empty]
            b->a appendResponse term=1 index=1
            c->a appendResponse term=1 index=1
            a->b append term=1 log=1/1 commit=1 entries=[]
            a->c append term=1 log=1/1 commit=1 entries=[]
            b->a appendResponse term=1 index=1
            c->a appendResponse term=1 index=1
            > partition c
            > tick c 20
            c becomes preCandidate at term 1
            > stabilize
            c->a preVote term=2 log=1/1 (dropped)
            c->b preVote term=2 log=1/1 (dropped)
            > heal
            > tick c 20
            > stabilize
            c->a preVote term=2 log=1/1
            c->b preVote term=2 log=1/1
            c->a preVote term=2 log=1/1
            c->b preVote term=2 log=1/1
            c->a preVote term=2 log=1/1
            c->b preVote term=2 log=1/1
            c->a preVote term=2 log=1/1
            c->b preVote term=2 log=1/1
            c->a preVote term=2 log=1/1
            c->b preVote term=2 log=1/1
            c->a preVote term=2 log=1/1
            c->b preVote term=2 log=1/1
            > status
            a: leader term=1 leader=a commit=1 applied=1 last=1 first=1
            b: follower term=1 leader=a commit=1 applied=1 last=1 first=1
            c: preCandidate term=1 leader=- commit=1 applied=1 last=1 first=1
            > tick a
            > stabilize
            a->b heartbeat term=1 commit=1 round=1
            a->c heartbeat term=1 commit=1 round=1
            c becomes follower at term 1
            b->a heartbeatResponse term=1 round=1
            c->a heartbeatResponse term=1 round=1
            > status
            a: leader term=1 leader=a commit=1 applied=1 last=1 first=1
            b: follower term=1 leader=a commit=1 applied=1 last=1 first=1
            c: follower term=1 leader=a commit=1 applied=1 last=1 first=1
            """
        )
    }

    @Test func checkQuorumDeposesALeaderCutOffFromTheMajority() {
        check(
            """
            campaign a
            stabilize
            partition a
            tick a 10
            stabilize
            propose a x
            tick c 10
            tick b 20
            stabilize
            heal
            tick b 5
            stabilize
            status
            """,
            nodes: 3, configure: { $0.heartbeatTicks = 5 },
            expected: """
            > campaign a
            a becomes preCandidate at term 0
            > stabilize
            a->b preVote term=1 log=0/0
            a->c preVote term=1 log=0/0
            b->a preVoteResponse term=1
            c->a preVoteResponse term=1
            a becomes candidate at term 1
            a->b vote term=1 log=0/0
            a->c vote term=1 log=0/0
            b becomes follower at term 1
            c becomes follower at term 1
            b->a voteResponse term=1
            c->a voteResponse term=1
            a becomes leader at term 1
            a->b append term=1 log=0/0 commit=0 entries=[1/1:empty]
            a->c append term=1 log=0/0 commit=0 entries=[1/1:empty]
            b->a appendResponse term=1 index=1
            c->a appendResponse term=1 index=1
            a->b append term=1 log=1/1 commit=1 entries=[]
            a->c append term=1 log=1/1 commit=1 entries=[]
            b->a appendResponse term=1 index=1
            c->a appendResponse term=1 index=1
            > partition a
            > tick a 10
            a becomes follower at term 1
            > stabilize
            a->b heartbeat term=1 commit=1 round=1 (dropped)
            a->c heartbeat term=1 commit=1 round=1 (dropped)
            > propose a x
            a: propose refused: notLeader
            > tick c 10
            > tick b 20
            b becomes preCandidate at term 1
            > stabilize
            b->a preVote term=2 log=1/1 (dropped)
            b->c preVote term=2 log=1/1
            c->b preVoteResponse term=2
            b becomes candidate at term 2
            b->a vote term=2 log=1/1 (dropped)
            b->c vote term=2 log=1/1
            c becomes follower at term 2
            c->b voteResponse term=2
            b becomes leader at term 2
            b->a append term=2 log=1/1 commit=1 entries=[2/2:empty] (dropped)
            b->c append term=2 log=1/1 commit=1 entries=[2/2:empty]
            c->b appendResponse term=2 index=2
            b->c append term=2 log=2/2 commit=2 entries=[]
            c->b appendResponse term=2 index=2
            > heal
            > tick b 5
            > stabilize
            b->a heartbeat term=2 commit=0 round=1
            b->c heartbeat term=2 commit=2 round=1
            a becomes follower at term 2
            a->b heartbeatResponse term=2 round=1
            c->b heartbeatResponse term=2 round=1
            b->a append term=2 log=1/1 commit=2 entries=[2/2:empty]
            a->b appendResponse term=2 index=2
            b->a append term=2 log=2/2 commit=2 entries=[]
            a->b appendResponse term=2 index=2
            > status
            a: follower term=2 leader=b commit=2 applied=2 last=2 first=1
            b: leader term=2 leader=b commit=2 applied=2 last=2 first=1
            c: follower term=2 leader=b commit=2 applied=2 last=2 first=1
            """
        )
    }

    @Test func aNewLeaderTruncatesConflictingEntries() {
        check(
            """
            campaign a
            stabilize
            partition a
            propose a x1
            propose a x2
            propose a x3
            stabilize
            campaign b
            stabilize
            propose b y
            stabilize
            heal
            tick b
            stabilize
            log a
            log b
            log c
            """,
            nodes: 3, configure: { $0.checkQuorum = false; $0.preVote = false },
            expected: """
            > campaign a
            a becomes candidate at term 1
            > stabilize
            a->b vote term=1 log=0/0
            a->c vote term=1 log=0/0
            b becomes follower at term 1
            c becomes follower at term 1
            b->a voteResponse term=1
            c->a voteResponse term=1
            a becomes leader at term 1
            a->b append term=1 log=0/0 commit=0 entries=[1/1:empty]
            a->c append term=1 log=0/0 commit=0 entries=[1/1:empty]
            b->a appendResponse term=1 index=1
            c->a appendResponse term=1 index=1
            a->b append term=1 log=1/1 commit=1 entries=[]
            a->c append term=1 log=1/1 commit=1 entries=[]
            b->a appendResponse term=1 index=1
            c->a appendResponse term=1 index=1
            > partition a
            > propose a x1
            > propose a x2
            > propose a x3
            > stabilize
            a->b append term=1 log=1/1 commit=1 entries=[1/2:x1] (dropped)
            a->c append term=1 log=1/1 commit=1 entries=[1/2:x1] (dropped)
            a->b append term=1 log=1/2 commit=1 entries=[1/3:x2] (dropped)
            a->c append term=1 log=1/2 commit=1 entries=[1/3:x2] (dropped)
            a->b append term=1 log=1/3 commit=1 entries=[1/4:x3] (dropped)
            a->c append term=1 log=1/3 commit=1 entries=[1/4:x3] (dropped)
            > campaign b
            b becomes candidate at term 2
            > stabilize
            b->a vote term=2 log=1/1 (dropped)
            b->c vote term=2 log=1/1
            c becomes follower at term 2
            c->b voteResponse term=2
            b becomes leader at term 2
            b->a append term=2 log=1/1 commit=1 entries=[2/2:empty] (dropped)
            b->c append term=2 log=1/1 commit=1 entries=[2/2:empty]
            c->b appendResponse term=2 index=2
            b->c append term=2 log=2/2 commit=2 entries=[]
            c->b appendResponse term=2 index=2
            > propose b y
            > stabilize
            b->c append term=2 log=2/2 commit=2 entries=[2/3:y]
            c->b appendResponse term=2 index=3
            b->c append term=2 log=2/3 commit=3 entries=[]
            c->b appendResponse term=2 index=3
            > heal
            > tick b
            > stabilize
            b->a heartbeat term=2 commit=0 round=1
            b->c heartbeat term=2 commit=3 round=1
            a becomes follower at term 2
            a->b heartbeatResponse term=2 round=1
            c->b heartbeatResponse term=2 round=1
            b->a append term=2 log=1/1 commit=3 entries=[2/2:empty, 2/3:y]
            a->b appendResponse term=2 index=3
            b->a append term=2 log=2/3 commit=3 entries=[]
            a->b appendResponse term=2 index=3
            > log a
            a log: [1/1:empty, 2/2:empty, 2/3:y]
            > log b
            b log: [1/1:empty, 2/2:empty, 2/3:y]
            > log c
            c log: [1/1:empty, 2/2:empty, 2/3:y]
            """
        )
    }

    @Test func onlyEntriesOfTheCurrentTermCommitByCounting() {
        check(
            """
            # Raft figure 8: x reaches a majority in term 3 without being committed, then is overwritten.
            campaign a
            stabilize
            partition a b
            propose a x
            stabilize
            campaign e
            deliver
            deliver
            partition e
            stabilize
            partition b e
            restart a
            campaign a
            stabilize
            campaign a
            deliver
            deliver
            deliver
            deliver
            deliver
            deliver
            status
            partition a
            restart e
            stabilize
            campaign e
            stabilize
            campaign e
            stabilize
            log a
            log c
            status
            """,
            nodes: 5, configure: { $0.checkQuorum = false; $0.preVote = false; $0.entriesPerAppendMax = 1 },
            expected: """
            > campaign a
            a becomes candidate at term 1
            > stabilize
            a->b vote term=1 log=0/0
            a->c vote term=1 log=0/0
            a->d vote term=1 log=0/0
            a->e vote term=1 log=0/0
            b becomes follower at term 1
            c becomes follower at term 1
            d becomes follower at term 1
            e becomes follower at term 1
            b->a voteResponse term=1
            c->a voteResponse term=1
            d->a voteResponse term=1
            e->a voteResponse term=1
            a becomes leader at term 1
            a->b append term=1 log=0/0 commit=0 entries=[1/1:empty]
            a->c append term=1 log=0/0 commit=0 entries=[1/1:empty]
            a->d append term=1 log=0/0 commit=0 entries=[1/1:empty]
            a->e append term=1 log=0/0 commit=0 entries=[1/1:empty]
            b->a appendResponse term=1 index=1
            c->a appendResponse term=1 index=1
            d->a appendResponse term=1 index=1
            e->a appendResponse term=1 index=1
            a->b append term=1 log=1/1 commit=0 entries=[]
            a->b append term=1 log=1/1 commit=1 entries=[]
            a->c append term=1 log=1/1 commit=1 entries=[]
            a->d append term=1 log=1/1 commit=1 entries=[]
            a->e append term=1 log=1/1 commit=1 entries=[]
            b->a appendResponse term=1 index=1
            b->a appendResponse term=1 index=1
            c->a appendResponse term=1 index=1
            d->a appendResponse term=1 index=1
            e->a appendResponse term=1 index=1
            > partition a b
            > propose a x
            > stabilize
            a->b append term=1 log=1/1 commit=1 entries=[1/2:x]
            a->c append term=1 log=1/1 commit=1 entries=[1/2:x] (dropped)
            a->d append term=1 log=1/1 commit=1 entries=[1/2:x] (dropped)
            a->e append term=1 log=1/1 commit=1 entries=[1/2:x] (dropped)
            b->a appendResponse term=1 index=2
            > campaign e
            e becomes candidate at term 2
            > deliver
            e->a vote term=2 log=1/1 (dropped)
            e->b vote term=2 log=1/1 (dropped)
            e->c vote term=2 log=1/1
            e->d vote term=2 log=1/1
            c becomes follower at term 2
            d becomes follower at term 2
            > deliver
            c->e voteResponse term=2
            d->e voteResponse term=2
            e becomes leader at term 2
            > partition e
            > stabilize
            e->a append term=2 log=1/1 commit=1 entries=[2/2:empty] (dropped)
            e->b append term=2 log=1/1 commit=1 entries=[2/2:empty] (dropped)
            e->c append term=2 log=1/1 commit=1 entries=[2/2:empty] (dropped)
            e->d append term=2 log=1/1 commit=1 entries=[2/2:empty] (dropped)
            > partition b e
            > restart a
            a restarted with term=1 vote=a commit=1
            > campaign a
            a becomes candidate at term 2
            > stabilize
            a->b vote term=2 log=1/2 (dropped)
            a->c vote term=2 log=1/2
            a->d vote term=2 log=1/2
            a->e vote term=2 log=1/2 (dropped)
            c->a voteResponse term=2 rejected
            d->a voteResponse term=2 rejected
            > campaign a
            a becomes candidate at term 3
            > deliver
            a->b vote term=3 log=1/2 (dropped)
            a->c vote term=3 log=1/2
            a->d vote term=3 log=1/2
            a->e vote term=3 log=1/2 (dropped)
            c becomes follower at term 3
            d becomes follower at term 3
            > deliver
            c->a voteResponse term=3
            d->a voteResponse term=3
            a becomes leader at term 3
            > deliver
            a->b append term=3 log=1/2 commit=1 entries=[3/3:empty] (dropped)
            a->c append term=3 log=1/2 commit=1 entries=[3/3:empty]
            a->d append term=3 log=1/2 commit=1 entries=[3/3:empty]
            a->e append term=3 log=1/2 commit=1 entries=[3/3:empty] (dropped)
            > deliver
            c->a appendResponse term=3 rejected index=2 hint=1
            d->a appendResponse term=3 rejected index=2 hint=1
            > deliver
            a->c append term=3 log=1/1 commit=1 entries=[1/2:x]
            a->d append term=3 log=1/1 commit=1 entries=[1/2:x]
            > deliver
            c->a appendResponse term=3 index=2
            d->a appendResponse term=3 index=2
            > status
            a: leader term=3 leader=a commit=1 applied=1 last=3 first=1
            b: follower term=1 leader=a commit=1 applied=1 last=2 first=1
            c: follower term=3 leader=a commit=1 applied=1 last=2 first=1
            d: follower term=3 leader=a commit=1 applied=1 last=2 first=1
            e: leader term=2 leader=e commit=1 applied=1 last=2 first=1
            > partition a
            > restart e
            e restarted with term=2 vote=e commit=1
            > stabilize
            a->c append term=3 log=1/2 commit=1 entries=[3/3:empty] (dropped)
            a->d append term=3 log=1/2 commit=1 entries=[3/3:empty] (dropped)
            > campaign e
            e becomes candidate at term 3
            > stabilize
            e->a vote term=3 log=2/2 (dropped)
            e->b vote term=3 log=2/2
            e->c vote term=3 log=2/2
            e->d vote term=3 log=2/2
            b becomes follower at term 3
            b->e voteResponse term=3
            c->e voteResponse term=3 rejected
            d->e voteResponse term=3 rejected
            > campaign e
            e becomes candidate at term 4
            > stabilize
            e->a vote term=4 log=2/2 (dropped)
            e->b vote term=4 log=2/2
            e->c vote term=4 log=2/2
            e->d vote term=4 log=2/2
            b becomes follower at term 4
            c becomes follower at term 4
            d becomes follower at term 4
            b->e voteResponse term=4
            c->e voteResponse term=4
            d->e voteResponse term=4
            e becomes leader at term 4
            e->a append term=4 log=2/2 commit=1 entries=[4/3:empty] (dropped)
            e->b append term=4 log=2/2 commit=1 entries=[4/3:empty]
            e->c append term=4 log=2/2 commit=1 entries=[4/3:empty]
            e->d append term=4 log=2/2 commit=1 entries=[4/3:empty]
            b->e appendResponse term=4 rejected index=2 hint=2
            c->e appendResponse term=4 rejected index=2 hint=2
            d->e appendResponse term=4 rejected index=2 hint=2
            e->b append term=4 log=1/1 commit=1 entries=[2/2:empty]
            e->c append term=4 log=1/1 commit=1 entries=[2/2:empty]
            e->d append term=4 log=1/1 commit=1 entries=[2/2:empty]
            b->e appendResponse term=4 index=2
            c->e appendResponse term=4 index=2
            d->e appendResponse term=4 index=2
            e->b append term=4 log=2/2 commit=1 entries=[4/3:empty]
            e->c append term=4 log=2/2 commit=1 entries=[4/3:empty]
            e->d append term=4 log=2/2 commit=1 entries=[4/3:empty]
            b->e appendResponse term=4 index=3
            c->e appendResponse term=4 index=3
            d->e appendResponse term=4 index=3
            e->b append term=4 log=4/3 commit=3 entries=[]
            e->c append term=4 log=4/3 commit=3 entries=[]
            e->d append term=4 log=4/3 commit=3 entries=[]
            b->e appendResponse term=4 index=3
            c->e appendResponse term=4 index=3
            d->e appendResponse term=4 index=3
            > log a
            a log: [1/1:empty, 1/2:x, 3/3:empty]
            > log c
            c log: [1/1:empty, 2/2:empty, 4/3:empty]
            > status
            a: leader term=3 leader=a commit=1 applied=1 last=3 first=1
            b: follower term=4 leader=e commit=3 applied=3 last=3 first=1
            c: follower term=4 leader=e commit=3 applied=3 last=3 first=1
            d: follower term=4 leader=e commit=3 applied=3 last=3 first=1
            e: leader term=4 leader=e commit=3 applied=3 last=3 first=1
            """
        )
    }

    @Test func leadershipTransferCatchesTheTargetUpThenForcesItsCampaign() {
        check(
            """
            campaign a
            stabilize
            partition c
            propose a x
            stabilize
            heal
            transfer a c
            propose a y
            stabilize
            status
            propose c z
            stabilize
            """,
            nodes: 3, configure: { _ in },
            expected: """
            > campaign a
            a becomes preCandidate at term 0
            > stabilize
            a->b preVote term=1 log=0/0
            a->c preVote term=1 log=0/0
            b->a preVoteResponse term=1
            c->a preVoteResponse term=1
            a becomes candidate at term 1
            a->b vote term=1 log=0/0
            a->c vote term=1 log=0/0
            b becomes follower at term 1
            c becomes follower at term 1
            b->a voteResponse term=1
            c->a voteResponse term=1
            a becomes leader at term 1
            a->b append term=1 log=0/0 commit=0 entries=[1/1:empty]
            a->c append term=1 log=0/0 commit=0 entries=[1/1:empty]
            b->a appendResponse term=1 index=1
            c->a appendResponse term=1 index=1
            a->b append term=1 log=1/1 commit=1 entries=[]
            a->c append term=1 log=1/1 commit=1 entries=[]
            b->a appendResponse term=1 index=1
            c->a appendResponse term=1 index=1
            > partition c
            > propose a x
            > stabilize
            a->b append term=1 log=1/1 commit=1 entries=[1/2:x]
            a->c append term=1 log=1/1 commit=1 entries=[1/2:x] (dropped)
            b->a appendResponse term=1 index=2
            a->b append term=1 log=1/2 commit=2 entries=[]
            a->c append term=1 log=1/2 commit=2 entries=[] (dropped)
            b->a appendResponse term=1 index=2
            > heal
            > transfer a c
            > propose a y
            a: propose refused: transferInProgress
            > stabilize
            a->c append term=1 log=1/2 commit=2 entries=[]
            c->a appendResponse term=1 rejected index=2 hint=1
            a->c append term=1 log=1/1 commit=2 entries=[1/2:x]
            c->a appendResponse term=1 index=2
            a->c append term=1 log=1/2 commit=2 entries=[]
            a->c timeoutNow term=1
            c becomes candidate at term 2
            c->a appendResponse term=1 index=2
            c->a vote term=2 log=1/2 forced
            c->b vote term=2 log=1/2 forced
            a becomes follower at term 2
            b becomes follower at term 2
            a->c voteResponse term=2
            b->c voteResponse term=2
            c becomes leader at term 2
            c->a append term=2 log=1/2 commit=2 entries=[2/3:empty]
            c->b append term=2 log=1/2 commit=2 entries=[2/3:empty]
            a->c appendResponse term=2 index=3
            b->c appendResponse term=2 index=3
            c->a append term=2 log=2/3 commit=3 entries=[]
            c->b append term=2 log=2/3 commit=3 entries=[]
            a->c appendResponse term=2 index=3
            b->c appendResponse term=2 index=3
            > status
            a: follower term=2 leader=c commit=3 applied=3 last=3 first=1
            b: follower term=2 leader=c commit=3 applied=3 last=3 first=1
            c: leader term=2 leader=c commit=3 applied=3 last=3 first=1
            > propose c z
            > stabilize
            c->a append term=2 log=2/3 commit=3 entries=[2/4:z]
            c->b append term=2 log=2/3 commit=3 entries=[2/4:z]
            a->c appendResponse term=2 index=4
            b->c appendResponse term=2 index=4
            c->a append term=2 log=2/4 commit=4 entries=[]
            c->b append term=2 log=2/4 commit=4 entries=[]
            a->c appendResponse term=2 index=4
            b->c appendResponse term=2 index=4
            """
        )
    }

    @Test func leadershipTransferToAnUnreachableVoterAbortsAfterAnElectionTimeout() {
        check(
            """
            campaign a
            stabilize
            partition c
            transfer a c
            status
            propose a x
            tick a 9
            stabilize
            propose a x
            tick a
            stabilize
            status
            propose a x
            stabilize
            """,
            nodes: 3, configure: { _ in },
            expected: """
            > campaign a
            a becomes preCandidate at term 0
            > stabilize
            a->b preVote term=1 log=0/0
            a->c preVote term=1 log=0/0
            b->a preVoteResponse term=1
            c->a preVoteResponse term=1
            a becomes candidate at term 1
            a->b vote term=1 log=0/0
            a->c vote term=1 log=0/0
            b becomes follower at term 1
            c becomes follower at term 1
            b->a voteResponse term=1
            c->a voteResponse term=1
            a becomes leader at term 1
            a->b append term=1 log=0/0 commit=0 entries=[1/1:empty]
            a->c append term=1 log=0/0 commit=0 entries=[1/1:empty]
            b->a appendResponse term=1 index=1
            c->a appendResponse term=1 index=1
            a->b append term=1 log=1/1 commit=1 entries=[]
            a->c append term=1 log=1/1 commit=1 entries=[]
            b->a appendResponse term=1 index=1
            c->a appendResponse term=1 index=1
            > partition c
            > transfer a c
            > status
            a: leader term=1 leader=a commit=1 applied=1 last=1 first=1 transferee=c
            b: follower term=1 leader=a commit=1 applied=1 last=1 first=1
            c: follower term=1 leader=a commit=1 applied=1 last=1 first=1
            > propose a x
            a: propose refused: transferInProgress
            > tick a 9
            > stabilize
            a->c timeoutNow term=1 (dropped)
            a->b heartbeat term=1 commit=1 round=1
            a->c heartbeat term=1 commit=1 round=1 (dropped)
            a->b heartbeat term=1 commit=1 round=2
            a->c heartbeat term=1 commit=1 round=2 (dropped)
            a->b heartbeat term=1 commit=1 round=3
            a->c heartbeat term=1 commit=1 round=3 (dropped)
            a->b heartbeat term=1 commit=1 round=4
            a->c heartbeat term=1 commit=1 round=4 (dropped)
            a->b heartbeat term=1 commit=1 round=5
            a->c heartbeat term=1 commit=1 round=5 (dropped)
            a->b heartbeat term=1 commit=1 round=6
            a->c heartbeat term=1 commit=1 round=6 (dropped)
            a->b heartbeat term=1 commit=1 round=7
            a->c heartbeat term=1 commit=1 round=7 (dropped)
            a->b heartbeat term=1 commit=1 round=8
            a->c heartbeat term=1 commit=1 round=8 (dropped)
            a->b heartbeat term=1 commit=1 round=9
            a->c heartbeat term=1 commit=1 round=9 (dropped)
            b->a heartbeatResponse term=1 round=1
            b->a heartbeatResponse term=1 round=2
            b->a heartbeatResponse term=1 round=3
            b->a heartbeatResponse term=1 round=4
            b->a heartbeatResponse term=1 round=5
            b->a heartbeatResponse term=1 round=6
            b->a heartbeatResponse term=1 round=7
            b->a heartbeatResponse term=1 round=8
            b->a heartbeatResponse term=1 round=9
            > propose a x
            a: propose refused: transferInProgress
            > tick a
            > stabilize
            a->b heartbeat term=1 commit=1 round=10
            a->c heartbeat term=1 commit=1 round=10 (dropped)
            b->a heartbeatResponse term=1 round=10
            > status
            a: leader term=1 leader=a commit=1 applied=1 last=1 first=1
            b: follower term=1 leader=a commit=1 applied=1 last=1 first=1
            c: follower term=1 leader=a commit=1 applied=1 last=1 first=1
            > propose a x
            > stabilize
            a->b append term=1 log=1/1 commit=1 entries=[1/2:x]
            a->c append term=1 log=1/1 commit=1 entries=[1/2:x] (dropped)
            b->a appendResponse term=1 index=2
            a->b append term=1 log=1/2 commit=2 entries=[]
            a->c append term=1 log=1/2 commit=2 entries=[] (dropped)
            b->a appendResponse term=1 index=2
            """
        )
    }

    @Test func safeReadIndexWaitsForACommitInTheTermAndAHeartbeatQuorum() {
        check(
            """
            campaign a
            deliver
            deliver
            deliver
            deliver
            read-index a r0
            stabilize
            read-index a r1
            read-index a r2
            stabilize
            partition a
            read-index a r3
            read-index a r4
            read-index a r5
            stabilize
            """,
            nodes: 3, configure: { $0.pendingReadsMax = 2 },
            expected: """
            > campaign a
            a becomes preCandidate at term 0
            > deliver
            a->b preVote term=1 log=0/0
            a->c preVote term=1 log=0/0
            > deliver
            b->a preVoteResponse term=1
            c->a preVoteResponse term=1
            a becomes candidate at term 1
            > deliver
            a->b vote term=1 log=0/0
            a->c vote term=1 log=0/0
            b becomes follower at term 1
            c becomes follower at term 1
            > deliver
            b->a voteResponse term=1
            c->a voteResponse term=1
            a becomes leader at term 1
            > read-index a r0
            > stabilize
            a->b append term=1 log=0/0 commit=0 entries=[1/1:empty]
            a->c append term=1 log=0/0 commit=0 entries=[1/1:empty]
            b->a appendResponse term=1 index=1
            c->a appendResponse term=1 index=1
            a->b heartbeat term=1 commit=1 round=1
            a->c heartbeat term=1 commit=0 round=1
            a->b append term=1 log=1/1 commit=1 entries=[]
            a->c append term=1 log=1/1 commit=1 entries=[]
            b->a heartbeatResponse term=1 round=1
            b->a appendResponse term=1 index=1
            c->a heartbeatResponse term=1 round=1
            c->a appendResponse term=1 index=1
            a: read-state index=1 context=r0
            > read-index a r1
            > read-index a r2
            > stabilize
            a->b heartbeat term=1 commit=1 round=2
            a->c heartbeat term=1 commit=1 round=2
            a->b heartbeat term=1 commit=1 round=3
            a->c heartbeat term=1 commit=1 round=3
            b->a heartbeatResponse term=1 round=2
            b->a heartbeatResponse term=1 round=3
            c->a heartbeatResponse term=1 round=2
            c->a heartbeatResponse term=1 round=3
            a: read-state index=1 context=r1
            a: read-state index=1 context=r2
            > partition a
            > read-index a r3
            > read-index a r4
            > read-index a r5
            a: read-index refused: tooManyPendingReads
            > stabilize
            a->b heartbeat term=1 commit=1 round=4 (dropped)
            a->c heartbeat term=1 commit=1 round=4 (dropped)
            a->b heartbeat term=1 commit=1 round=5 (dropped)
            a->c heartbeat term=1 commit=1 round=5 (dropped)
            """
        )
    }

    @Test func leaseReadIsAnsweredAtOnceUntilTheLeaseLapses() {
        check(
            """
            campaign a
            stabilize
            read-index a r1
            stabilize
            read-index a r1b
            partition a
            tick a 9
            read-index a r2
            tick a
            read-index a r3
            stabilize
            """,
            nodes: 3, configure: { $0.readOnly = .leaseBased; $0.heartbeatTicks = 5 },
            expected: """
            > campaign a
            a becomes preCandidate at term 0
            > stabilize
            a->b preVote term=1 log=0/0
            a->c preVote term=1 log=0/0
            b->a preVoteResponse term=1
            c->a preVoteResponse term=1
            a becomes candidate at term 1
            a->b vote term=1 log=0/0
            a->c vote term=1 log=0/0
            b becomes follower at term 1
            c becomes follower at term 1
            b->a voteResponse term=1
            c->a voteResponse term=1
            a becomes leader at term 1
            a->b append term=1 log=0/0 commit=0 entries=[1/1:empty]
            a->c append term=1 log=0/0 commit=0 entries=[1/1:empty]
            b->a appendResponse term=1 index=1
            c->a appendResponse term=1 index=1
            a->b append term=1 log=1/1 commit=1 entries=[]
            a->c append term=1 log=1/1 commit=1 entries=[]
            b->a appendResponse term=1 index=1
            c->a appendResponse term=1 index=1
            > read-index a r1
            > stabilize
            a->b heartbeat term=1 commit=1 round=1
            a->c heartbeat term=1 commit=1 round=1
            b->a heartbeatResponse term=1 round=1
            c->a heartbeatResponse term=1 round=1
            a: read-state index=1 context=r1
            > read-index a r1b
            > partition a
            > tick a 9
            > read-index a r2
            > tick a
            a becomes follower at term 1
            > read-index a r3
            a: read-index refused: notLeader
            > stabilize
            a: read-state index=1 context=r1b
            a->b heartbeat term=1 commit=1 round=2 (dropped)
            a->c heartbeat term=1 commit=1 round=2 (dropped)
            a->b heartbeat term=1 commit=1 round=3 (dropped)
            a->c heartbeat term=1 commit=1 round=3 (dropped)
            """
        )
    }

    @Test func aLaggingFollowerReceivesTheSnapshot() {
        check(
            """
            campaign a
            stabilize
            partition c
            propose a x
            propose a y
            propose a z
            stabilize
            compact a 3
            heal
            tick a
            stabilize
            log c
            status
            """,
            nodes: 3, configure: { _ in },
            expected: """
            > campaign a
            a becomes preCandidate at term 0
            > stabilize
            a->b preVote term=1 log=0/0
            a->c preVote term=1 log=0/0
            b->a preVoteResponse term=1
            c->a preVoteResponse term=1
            a becomes candidate at term 1
            a->b vote term=1 log=0/0
            a->c vote term=1 log=0/0
            b becomes follower at term 1
            c becomes follower at term 1
            b->a voteResponse term=1
            c->a voteResponse term=1
            a becomes leader at term 1
            a->b append term=1 log=0/0 commit=0 entries=[1/1:empty]
            a->c append term=1 log=0/0 commit=0 entries=[1/1:empty]
            b->a appendResponse term=1 index=1
            c->a appendResponse term=1 index=1
            a->b append term=1 log=1/1 commit=1 entries=[]
            a->c append term=1 log=1/1 commit=1 entries=[]
            b->a appendResponse term=1 index=1
            c->a appendResponse term=1 index=1
            > partition c
            > propose a x
            > propose a y
            > propose a z
            > stabilize
            a->b append term=1 log=1/1 commit=1 entries=[1/2:x]
            a->c append term=1 log=1/1 commit=1 entries=[1/2:x] (dropped)
            a->b append term=1 log=1/2 commit=1 entries=[1/3:y]
            a->c append term=1 log=1/2 commit=1 entries=[1/3:y] (dropped)
            a->b append term=1 log=1/3 commit=1 entries=[1/4:z]
            a->c append term=1 log=1/3 commit=1 entries=[1/4:z] (dropped)
            b->a appendResponse term=1 index=2
            b->a appendResponse term=1 index=3
            b->a appendResponse term=1 index=4
            a->b append term=1 log=1/4 commit=2 entries=[]
            a->c append term=1 log=1/4 commit=2 entries=[] (dropped)
            a->b append term=1 log=1/4 commit=3 entries=[]
            a->c append term=1 log=1/4 commit=3 entries=[] (dropped)
            a->b append term=1 log=1/4 commit=4 entries=[]
            a->c append term=1 log=1/4 commit=4 entries=[] (dropped)
            b->a appendResponse term=1 index=4
            b->a appendResponse term=1 index=4
            b->a appendResponse term=1 index=4
            > compact a 3
            > heal
            > tick a
            > stabilize
            a->b heartbeat term=1 commit=4 round=1
            a->c heartbeat term=1 commit=1 round=1
            b->a heartbeatResponse term=1 round=1
            c->a heartbeatResponse term=1 round=1
            a->c append term=1 log=1/4 commit=4 entries=[]
            c->a appendResponse term=1 rejected index=4 hint=1
            a->c snapshot term=1 snapshot=1/3
            c->a appendResponse term=1 index=3
            a->c append term=1 log=1/3 commit=4 entries=[1/4:z]
            c->a appendResponse term=1 index=4
            > log c
            c log: snapshot 1/3 [1/4:z]
            > status
            a: leader term=1 leader=a commit=4 applied=4 last=4 first=4
            b: follower term=1 leader=a commit=4 applied=4 last=4 first=1
            c: follower term=1 leader=a commit=4 applied=4 last=4 first=4
            """
        )
    }

    @Test func aRestartedNodeKeepsItsVote() {
        check(
            """
            partition c
            campaign b
            stabilize
            restart a
            heal
            campaign c
            stabilize
            status
            """,
            nodes: 3, configure: { $0.checkQuorum = false; $0.preVote = false },
            expected: """
            > partition c
            > campaign b
            b becomes candidate at term 1
            > stabilize
            b->a vote term=1 log=0/0
            b->c vote term=1 log=0/0 (dropped)
            a becomes follower at term 1
            a->b voteResponse term=1
            b becomes leader at term 1
            b->a append term=1 log=0/0 commit=0 entries=[1/1:empty]
            b->c append term=1 log=0/0 commit=0 entries=[1/1:empty] (dropped)
            a->b appendResponse term=1 index=1
            b->a append term=1 log=1/1 commit=1 entries=[]
            a->b appendResponse term=1 index=1
            > restart a
            a restarted with term=1 vote=b commit=1
            > heal
            > campaign c
            c becomes candidate at term 1
            > stabilize
            c->a vote term=1 log=0/0
            c->b vote term=1 log=0/0
            a->c voteResponse term=1 rejected
            b->c voteResponse term=1 rejected
            c becomes follower at term 1
            > status
            a: follower term=1 leader=- commit=1 applied=1 last=1 first=1
            b: leader term=1 leader=b commit=1 applied=1 last=1 first=1
            c: follower term=1 leader=- commit=0 applied=0 last=0 first=1
            """
        )
    }

    @Test func aSingleVoterLeadsAndCommitsAlone() {
        check(
            """
            campaign a
            stabilize
            propose a x
            propose a y
            read-index a r1
            stabilize
            status
            """,
            nodes: 1, configure: { _ in },
            expected: """
            > campaign a
            a becomes leader at term 1
            > stabilize
            > propose a x
            > propose a y
            > read-index a r1
            > stabilize
            a: read-state index=3 context=r1
            > status
            a: leader term=1 leader=a commit=3 applied=3 last=3 first=1
            """
        )
    }
}
