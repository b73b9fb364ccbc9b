@_spi(Simulation) import MeridianRaft
import Testing

/// Membership changes, scripted: a learner joins and catches up, is promoted and counts for
/// the quorum; one change at a time; a removed leader steps down; a new leader changes
/// nothing before its first entry commits; a learner never campaigns. Traces generated,
/// then reviewed against the Raft thesis §4.1 and etcd's raft; regenerate only on purpose.
@Suite("Raft membership scripts")
struct MembershipInteractionTests {
    func check(_ script: String, expected: String, name: String = #function) {
        let trace = InteractionScript.run(script, nodes: 3)
        #expect(trace == expected)
        if trace != expected { print("BEGIN \(name.prefix { $0 != "(" })\n\(trace)\nEND \(name.prefix { $0 != "(" })") }
    }

    @Test func aLearnerCatchesUpIsPromotedAndThenCountsForTheQuorum() {
        check(
            """
            campaign a
            stabilize
            propose a x
            stabilize
            join d
            membership a voters=a,b,c learners=d
            stabilize
            members
            log d
            membership a voters=a,b,c,d
            stabilize
            members
            # Four voters: a alone with d is not a majority; with b it is.
            partition b c
            propose a y
            stabilize
            status
            heal
            tick a
            stabilize
            status
            """,
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
            > join d
            > membership a voters=a,b,c learners=d
            > stabilize
            a->b append term=1 log=1/2 commit=2 entries=[1/3:members(voters=a,b,c;learners=d)]
            a->c append term=1 log=1/2 commit=2 entries=[1/3:members(voters=a,b,c;learners=d)]
            b->a appendResponse term=1 index=3
            c->a appendResponse term=1 index=3
            a->b append term=1 log=1/3 commit=3 entries=[]
            a->c append term=1 log=1/3 commit=3 entries=[]
            a->d append term=1 log=1/3 commit=3 entries=[]
            d becomes follower at term 1
            b->a appendResponse term=1 index=3
            c->a appendResponse term=1 index=3
            d->a appendResponse term=1 rejected index=3 hint=0
            a->d append term=1 log=0/0 commit=3 entries=[1/1:empty, 1/2:x, 1/3:members(voters=a,b,c;learners=d)]
            d->a appendResponse term=1 index=3
            a->d append term=1 log=1/3 commit=3 entries=[]
            d->a appendResponse term=1 index=3
            > members
            a: voters ["a", "b", "c"], learners ["d"] at 3
            b: voters ["a", "b", "c"], learners ["d"] at 3
            c: voters ["a", "b", "c"], learners ["d"] at 3
            d: voters ["a", "b", "c"], learners ["d"] at 3
            > log d
            d log: [1/1:empty, 1/2:x, 1/3:members(voters=a,b,c;learners=d)]
            > membership a voters=a,b,c,d
            > stabilize
            a->b append term=1 log=1/3 commit=3 entries=[1/4:members(voters=a,b,c,d;learners=)]
            a->c append term=1 log=1/3 commit=3 entries=[1/4:members(voters=a,b,c,d;learners=)]
            a->d append term=1 log=1/3 commit=3 entries=[1/4:members(voters=a,b,c,d;learners=)]
            b->a appendResponse term=1 index=4
            c->a appendResponse term=1 index=4
            d->a appendResponse term=1 index=4
            a->b append term=1 log=1/4 commit=4 entries=[]
            a->c append term=1 log=1/4 commit=4 entries=[]
            a->d append term=1 log=1/4 commit=4 entries=[]
            b->a appendResponse term=1 index=4
            c->a appendResponse term=1 index=4
            d->a appendResponse term=1 index=4
            > members
            a: voters ["a", "b", "c", "d"] at 4
            b: voters ["a", "b", "c", "d"] at 4
            c: voters ["a", "b", "c", "d"] at 4
            d: voters ["a", "b", "c", "d"] at 4
            > partition b c
            > propose a y
            > stabilize
            a->b append term=1 log=1/4 commit=4 entries=[1/5:y] (dropped)
            a->c append term=1 log=1/4 commit=4 entries=[1/5:y] (dropped)
            a->d append term=1 log=1/4 commit=4 entries=[1/5:y]
            d->a appendResponse term=1 index=5
            > status
            a: leader term=1 leader=a commit=4 applied=4 last=5 first=1
            b: follower term=1 leader=a commit=4 applied=4 last=4 first=1
            c: follower term=1 leader=a commit=4 applied=4 last=4 first=1
            d: follower term=1 leader=a commit=4 applied=4 last=5 first=1
            > heal
            > tick a
            > stabilize
            a->b heartbeat term=1 commit=4 round=1
            a->c heartbeat term=1 commit=4 round=1
            a->d heartbeat term=1 commit=4 round=1
            b->a heartbeatResponse term=1 round=1
            c->a heartbeatResponse term=1 round=1
            d->a heartbeatResponse term=1 round=1
            a->b append term=1 log=1/5 commit=4 entries=[]
            a->c append term=1 log=1/5 commit=4 entries=[]
            b->a appendResponse term=1 rejected index=5 hint=4
            c->a appendResponse term=1 rejected index=5 hint=4
            a->b append term=1 log=1/4 commit=4 entries=[1/5:y]
            a->c append term=1 log=1/4 commit=4 entries=[1/5:y]
            b->a appendResponse term=1 index=5
            c->a appendResponse term=1 index=5
            a->b append term=1 log=1/5 commit=5 entries=[]
            a->d append term=1 log=1/5 commit=5 entries=[]
            a->c append term=1 log=1/5 commit=5 entries=[]
            b->a appendResponse term=1 index=5
            c->a appendResponse term=1 index=5
            d->a appendResponse term=1 index=5
            > status
            a: leader term=1 leader=a commit=5 applied=5 last=5 first=1
            b: follower term=1 leader=a commit=5 applied=5 last=5 first=1
            c: follower term=1 leader=a commit=5 applied=5 last=5 first=1
            d: follower term=1 leader=a commit=5 applied=5 last=5 first=1
            """
        )
    }

    @Test func oneChangeAtATimeAndOneVoterAtATime() {
        check(
            """
            campaign a
            stabilize
            join d
            join e
            membership a voters=a,b,c,d,e
            membership a voters=a,b,c learners=d
            membership a voters=a,b,c learners=d,e
            stabilize
            members
            """,
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
            > join d
            > join e
            > membership a voters=a,b,c,d,e
            a: membership refused: invalidMembershipChange
            > membership a voters=a,b,c learners=d
            > membership a voters=a,b,c learners=d,e
            a: membership refused: membershipChangePending
            > stabilize
            a->b append term=1 log=1/1 commit=1 entries=[1/2:members(voters=a,b,c;learners=d)]
            a->c append term=1 log=1/1 commit=1 entries=[1/2:members(voters=a,b,c;learners=d)]
            b->a appendResponse term=1 index=2
            c->a appendResponse term=1 index=2
            a->b append term=1 log=1/2 commit=2 entries=[]
            a->c append term=1 log=1/2 commit=2 entries=[]
            a->d append term=1 log=1/2 commit=2 entries=[]
            d becomes follower at term 1
            b->a appendResponse term=1 index=2
            c->a appendResponse term=1 index=2
            d->a appendResponse term=1 rejected index=2 hint=0
            a->d append term=1 log=0/0 commit=2 entries=[1/1:empty, 1/2:members(voters=a,b,c;learners=d)]
            d->a appendResponse term=1 index=2
            a->d append term=1 log=1/2 commit=2 entries=[]
            d->a appendResponse term=1 index=2
            > members
            a: voters ["a", "b", "c"], learners ["d"] at 2
            b: voters ["a", "b", "c"], learners ["d"] at 2
            c: voters ["a", "b", "c"], learners ["d"] at 2
            d: voters ["a", "b", "c"], learners ["d"] at 2
            e: voters ["a", "b", "c"], learners ["e"] at 0
            """
        )
    }

    @Test func aLeaderThatRemovesItselfStepsDownOnceTheChangeCommits() {
        check(
            """
            campaign a
            stabilize
            membership a voters=b,c
            stabilize
            members
            tick c 12
            tick b 25
            stabilize
            status
            """,
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
            > membership a voters=b,c
            > stabilize
            a->b append term=1 log=1/1 commit=1 entries=[1/2:members(voters=b,c;learners=)]
            a->c append term=1 log=1/1 commit=1 entries=[1/2:members(voters=b,c;learners=)]
            b->a appendResponse term=1 index=2
            c->a appendResponse term=1 index=2
            a becomes follower at term 1
            a->b append term=1 log=1/2 commit=2 entries=[]
            a->c append term=1 log=1/2 commit=2 entries=[]
            b->a appendResponse term=1 index=2
            c->a appendResponse term=1 index=2
            > members
            a: voters ["b", "c"] at 2
            b: voters ["b", "c"] at 2
            c: voters ["b", "c"] at 2
            > tick c 12
            > tick b 25
            b becomes preCandidate at term 1
            > stabilize
            b->c preVote term=2 log=1/2
            b->c preVote term=2 log=1/2
            c->b preVoteResponse term=2
            c->b preVoteResponse term=2
            b becomes candidate at term 2
            b->c vote term=2 log=1/2
            c becomes follower at term 2
            c->b voteResponse term=2
            b becomes leader at term 2
            b->c append term=2 log=1/2 commit=2 entries=[2/3:empty]
            c->b appendResponse term=2 index=3
            b->c append term=2 log=2/3 commit=3 entries=[]
            c->b appendResponse term=2 index=3
            > status
            a: follower term=1 leader=- commit=2 applied=2 last=2 first=1
            b: leader term=2 leader=b commit=3 applied=3 last=3 first=1
            c: follower term=2 leader=b commit=3 applied=3 last=3 first=1
            """
        )
    }

    @Test func aNewLeaderChangesNoMembershipBeforeItsFirstEntryCommits() {
        check(
            """
            campaign a
            stabilize
            partition a
            tick c 12
            campaign b
            deliver
            deliver
            deliver
            deliver
            # b leads, its first entry is not committed yet: no change.
            membership b voters=b,c
            stabilize
            membership b voters=b,c
            stabilize
            members
            """,
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
            > tick c 12
            > campaign b
            b becomes preCandidate at term 1
            > deliver
            b->a preVote term=2 log=1/1 (dropped)
            b->c preVote term=2 log=1/1
            > deliver
            c->b preVoteResponse term=2
            b becomes candidate at term 2
            > deliver
            b->a vote term=2 log=1/1 (dropped)
            b->c vote term=2 log=1/1
            c becomes follower at term 2
            > deliver
            c->b voteResponse term=2
            b becomes leader at term 2
            > membership b voters=b,c
            b: membership refused: membershipChangePending
            > stabilize
            b->a append term=2 log=1/1 commit=1 entries=[2/2:empty] (dropped)
            b->c append term=2 log=1/1 commit=1 entries=[2/2:empty]
            c->b appendResponse term=2 index=2
            b->c append term=2 log=2/2 commit=2 entries=[]
            c->b appendResponse term=2 index=2
            > membership b voters=b,c
            > stabilize
            b->c append term=2 log=2/2 commit=2 entries=[2/3:members(voters=b,c;learners=)]
            c->b appendResponse term=2 index=3
            b->c append term=2 log=2/3 commit=3 entries=[]
            c->b appendResponse term=2 index=3
            > members
            a: voters ["a", "b", "c"] at 0
            b: voters ["b", "c"] at 3
            c: voters ["b", "c"] at 3
            """
        )
    }

    @Test func aLearnerNeverCampaigns() {
        check(
            """
            campaign a
            stabilize
            join d
            membership a voters=a,b,c learners=d
            stabilize
            partition a
            tick d 40
            stabilize
            status
            """,
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
            > join d
            > membership a voters=a,b,c learners=d
            > stabilize
            a->b append term=1 log=1/1 commit=1 entries=[1/2:members(voters=a,b,c;learners=d)]
            a->c append term=1 log=1/1 commit=1 entries=[1/2:members(voters=a,b,c;learners=d)]
            b->a appendResponse term=1 index=2
            c->a appendResponse term=1 index=2
            a->b append term=1 log=1/2 commit=2 entries=[]
            a->c append term=1 log=1/2 commit=2 entries=[]
            a->d append term=1 log=1/2 commit=2 entries=[]
            d becomes follower at term 1
            b->a appendResponse term=1 index=2
            c->a appendResponse term=1 index=2
            d->a appendResponse term=1 rejected index=2 hint=0
            a->d append term=1 log=0/0 commit=2 entries=[1/1:empty, 1/2:members(voters=a,b,c;learners=d)]
            d->a appendResponse term=1 index=2
            a->d append term=1 log=1/2 commit=2 entries=[]
            d->a appendResponse term=1 index=2
            > partition a
            > tick d 40
            > stabilize
            > status
            a: leader term=1 leader=a commit=2 applied=2 last=2 first=1
            b: follower term=1 leader=a commit=2 applied=2 last=2 first=1
            c: follower term=1 leader=a commit=2 applied=2 last=2 first=1
            d: follower term=1 leader=a commit=2 applied=2 last=2 first=1
            """
        )
    }
}

/// Followers: a linearizable read index through the leader, and proposals forwarded to it.
@Suite("Raft follower scripts")
struct FollowerInteractionTests {
    func check(_ script: String, expected: String, name: String = #function) {
        let trace = InteractionScript.run(script, nodes: 3)
        #expect(trace == expected)
        if trace != expected { print("BEGIN \(name.prefix { $0 != "(" })\n\(trace)\nEND \(name.prefix { $0 != "(" })") }
    }

    @Test func aFollowerGetsAReadIndexFromItsLeaderAfterAHeartbeatRound() {
        check(
            """
            campaign a
            stabilize
            propose a x
            stabilize
            read-index b r1
            stabilize
            # Without a leader a node cannot ask.
            partition a
            tick b 30
            read-index b r2
            """,
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
            > read-index b r1
            > stabilize
            b->a readIndex term=1 context=r1
            a->b heartbeat term=1 commit=2 round=1
            a->c heartbeat term=1 commit=2 round=1
            b->a heartbeatResponse term=1 round=1
            c->a heartbeatResponse term=1 round=1
            a->b readIndexResponse term=1 index=2 context=r1
            b: read-state index=2 context=r1
            > partition a
            > tick b 30
            b becomes preCandidate at term 1
            > read-index b r2
            b: read-index refused: notLeader
            """
        )
    }

    @Test func aFollowersProposalIsAppendedByTheLeader() {
        check(
            """
            campaign a
            stabilize
            forward b y
            stabilize
            log c
            """,
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
            > forward b y
            > stabilize
            b->a propose term=1 entries=[y]
            a->b append term=1 log=1/1 commit=1 entries=[1/2:y]
            a->c append term=1 log=1/1 commit=1 entries=[1/2:y]
            b->a appendResponse term=1 index=2
            c->a appendResponse term=1 index=2
            a->b append term=1 log=1/2 commit=2 entries=[]
            a->c append term=1 log=1/2 commit=2 entries=[]
            b->a appendResponse term=1 index=2
            c->a appendResponse term=1 index=2
            > log c
            c log: [1/1:empty, 1/2:y]
            """
        )
    }
}
