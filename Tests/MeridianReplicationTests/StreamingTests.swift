import MeridianCore
@testable import MeridianReplication
import Testing

/// Catch-up on connect, the window, acknowledgements, retransmission and heartbeats,
/// driven directly on `Replication` (us-east; see `Fixture`).
struct CatchUpTests {
    let east = Fixture.east, west = Fixture.west, south = Fixture.south

    @Test func aConnectionSendsOurPositionsAndStreamsNothingUntilThePeerAnswers() {
        var replication = Fixture.replication(applied: [east: 5, south: 3])
        let asked = replication.peerConnected(west, nowMilliseconds: 0)
        #expect(asked == [.catchUp(Positions([east: 5, south: 3]))])
        #expect(replication.peers[west]?.connected == true)
        #expect(replication.rangesToSend().isEmpty)
    }

    @Test func theCatchUpAnswerStreamsEveryOriginThePeerLacksButItsOwn() {
        var replication = Fixture.replication(applied: [east: 5, south: 3, west: 4])
        _ = replication.peerConnected(west, nowMilliseconds: 0)
        replication.receivedCatchUp(from: west, positions: Positions([east: 2, west: 4]), nowMilliseconds: 0)
        // ap-south's entries are relayed; eu-west's own entries never go back to it.
        #expect(replication.rangesToSend() == [Fixture.range(west, south, after: 0, through: 3), Fixture.range(west, east, after: 2, through: 5)])
        #expect(replication.peers[west]?.acknowledged == Positions([east: 2, west: 4]))
    }

    @Test func aPeerThatHasEverythingIsSentNothing() {
        let replication = Fixture.streaming(applied: [east: 5, south: 3], to: west, peerApplied: [east: 5, south: 7])
        #expect(replication.rangesToSend().isEmpty)
    }

    @Test func aCatchUpFromAPeerThatIsNotConnectedIsIgnored() {
        var replication = Fixture.replication(applied: [east: 5])
        replication.receivedCatchUp(from: west, positions: Positions(), nowMilliseconds: 0)
        #expect(replication.peers[west]?.caughtUpRequested == false)
        #expect(replication.rangesToSend().isEmpty)
    }

    @Test func aRegionOutsideTheClusterIsNeitherAskedNorTracked() throws {
        var replication = Fixture.replication(applied: [east: 5])
        let stranger = try RegionID("sa-east")
        let askedStranger = replication.peerConnected(stranger, nowMilliseconds: 0)
        #expect(askedStranger.isEmpty)
        replication.receivedAcknowledgement(from: stranger, positions: Positions([east: 5]), nowMilliseconds: 0)
        replication.receivedHeartbeat(from: stranger, Fixture.heartbeat(applied: [east: 5]), nowMilliseconds: 0)
        #expect(replication.peers[stranger] == nil)
        #expect(replication.peers.count == 2)
    }

    @Test func aReconnectionForgetsWhatWasSentAndAsksAgain() {
        var replication = Fixture.streaming(applied: [east: 8], to: west, peerApplied: [:])
        replication.didSend(to: west, origin: east, through: 8, nowMilliseconds: 0)
        #expect(replication.rangesToSend().isEmpty)
        replication.peerDisconnected(west)
        #expect(replication.peers[west]?.connected == false)
        let askedAgain = replication.peerConnected(west, nowMilliseconds: 10)
        #expect(askedAgain == [.catchUp(Positions([east: 8]))])
        #expect(replication.peers[west]?.sent == Positions())
        #expect(replication.rangesToSend().isEmpty, "streaming waits for the peer's new answer")
        // Entries 4 to 8 were lost with the old connection.
        replication.receivedCatchUp(from: west, positions: Positions([east: 3]), nowMilliseconds: 10)
        #expect(replication.rangesToSend() == [Fixture.range(west, east, after: 3, through: 8)])
    }
}

struct WindowTests {
    let east = Fixture.east, west = Fixture.west, south = Fixture.south

    @Test func streamingStopsAtTheWindowBeyondWhatThePeerAcknowledged() {
        var replication = Fixture.streaming(applied: [east: 25], to: west, peerApplied: [:])
        #expect(replication.rangesToSend() == [Fixture.range(west, east, after: 0, through: 10)])
        replication.didSend(to: west, origin: east, through: 10, nowMilliseconds: 0)
        #expect(replication.rangesToSend().isEmpty, "ten entries are outstanding: the window is full")
        replication.receivedAcknowledgement(from: west, positions: Positions([east: 4]), nowMilliseconds: 5)
        #expect(replication.rangesToSend() == [Fixture.range(west, east, after: 10, through: 14)])
        replication.didSend(to: west, origin: east, through: 14, nowMilliseconds: 6)
        replication.receivedAcknowledgement(from: west, positions: Positions([east: 20]), nowMilliseconds: 7)
        // The window would reach 30; the log ends at 25.
        #expect(replication.rangesToSend() == [Fixture.range(west, east, after: 20, through: 25)])
    }

    @Test func aPartlySentRangeContinuesWhereItStopped() {
        var replication = Fixture.streaming(applied: [east: 25], to: west, peerApplied: [:])
        replication.didSend(to: west, origin: east, through: 6, nowMilliseconds: 0)
        #expect(replication.rangesToSend() == [Fixture.range(west, east, after: 6, through: 10)])
    }

    @Test func eachOriginHasItsOwnWindow() {
        var replication = Fixture.streaming(applied: [east: 30, south: 30], to: west, peerApplied: [:])
        #expect(replication.rangesToSend() == [Fixture.range(west, south, after: 0, through: 10), Fixture.range(west, east, after: 0, through: 10)])
        replication.didSend(to: west, origin: south, through: 10, nowMilliseconds: 0)
        replication.didSend(to: west, origin: east, through: 10, nowMilliseconds: 0)
        replication.receivedAcknowledgement(from: west, positions: Positions([south: 10]), nowMilliseconds: 1)
        #expect(replication.rangesToSend() == [Fixture.range(west, south, after: 10, through: 20)])
    }

    @Test func eachPeerHasItsOwnWindow() {
        var replication = Fixture.streaming(applied: [east: 30], to: west, peerApplied: [east: 25])
        _ = replication.peerConnected(south, nowMilliseconds: 0)
        replication.receivedCatchUp(from: south, positions: Positions(), nowMilliseconds: 0)
        #expect(replication.rangesToSend() == [Fixture.range(south, east, after: 0, through: 10), Fixture.range(west, east, after: 25, through: 30)])
    }

    @Test func aWindowTooLargeToAddUpStillEndsAtTheLogsEnd() {
        let replication = Fixture.streaming(applied: [east: 25], to: west, peerApplied: [east: 5]) { $0.windowEntriesMax = .max }
        #expect(replication.rangesToSend() == [Fixture.range(west, east, after: 5, through: 25)])
    }
}

struct AcknowledgementTests {
    let east = Fixture.east, west = Fixture.west, south = Fixture.south

    @Test func acknowledgementsMergePointwiseAndNeverMoveBack() {
        var replication = Fixture.streaming(applied: [east: 25, south: 25], to: west, peerApplied: [:])
        replication.receivedAcknowledgement(from: west, positions: Positions([east: 8, south: 2]), nowMilliseconds: 0)
        // A late, reordered acknowledgement.
        replication.receivedAcknowledgement(from: west, positions: Positions([east: 3, south: 6]), nowMilliseconds: 1)
        #expect(replication.peers[west]?.acknowledged == Positions([east: 8, south: 6]))
    }

    @Test func whatThePeerGotFromAnotherRegionIsNotSentAgain() {
        var replication = Fixture.streaming(applied: [east: 5, south: 9], to: west, peerApplied: [:])
        #expect(replication.rangesToSend() == [Fixture.range(west, south, after: 0, through: 9), Fixture.range(west, east, after: 0, through: 5)])
        // ap-south's entries reached eu-west directly.
        replication.receivedAcknowledgement(from: west, positions: Positions([south: 9]), nowMilliseconds: 0)
        #expect(replication.peers[west]?.sent == Positions([south: 9]))
        #expect(replication.rangesToSend() == [Fixture.range(west, east, after: 0, through: 5)])
    }

    @Test func aDisconnectedPeersAcknowledgementStillCounts() {
        var replication = Fixture.replication(applied: [east: 30])
        replication.receivedAcknowledgement(from: west, positions: Positions([east: 12]), nowMilliseconds: 0)
        replication.receivedAcknowledgement(from: south, positions: Positions([east: 20]), nowMilliseconds: 0)
        #expect(replication.peers[west]?.acknowledged == Positions([east: 12]))
        #expect(replication.truncationPoints() == Positions([east: 12]))
        #expect(replication.rangesToSend().isEmpty)
    }
}

struct RetransmissionTests {
    let east = Fixture.east, west = Fixture.west, south = Fixture.south

    @Test func unacknowledgedEntriesAreSentAgainAfterTheTimeout() {
        var replication = Fixture.streaming(applied: [east: 25], to: west, peerApplied: [:])
        replication.didSend(to: west, origin: east, through: 10, nowMilliseconds: 100)
        _ = replication.tick(nowMilliseconds: 1099)
        #expect(replication.peers[west]?.sent[east] == 10)
        #expect(replication.rangesToSend().isEmpty)
        _ = replication.tick(nowMilliseconds: 1100)
        #expect(replication.peers[west]?.sent[east] == 0)
        #expect(replication.rangesToSend() == [Fixture.range(west, east, after: 0, through: 10)])
    }

    @Test func anAdvancingAcknowledgementRestartsTheClock() {
        var replication = Fixture.streaming(applied: [east: 25], to: west, peerApplied: [:])
        replication.didSend(to: west, origin: east, through: 10, nowMilliseconds: 0)
        replication.receivedAcknowledgement(from: west, positions: Positions([east: 4]), nowMilliseconds: 500)
        _ = replication.tick(nowMilliseconds: 1000)
        _ = replication.tick(nowMilliseconds: 1499)
        #expect(replication.peers[west]?.sent[east] == 10, "the acknowledgement at 500 ms moved the deadline to 1500 ms")
        _ = replication.tick(nowMilliseconds: 1500)
        #expect(replication.rangesToSend() == [Fixture.range(west, east, after: 4, through: 14)])
    }

    @Test func eachOriginIsSentAgainOnItsOwnClock() {
        var replication = Fixture.streaming(applied: [east: 20, south: 20], to: west, peerApplied: [:])
        replication.didSend(to: west, origin: east, through: 10, nowMilliseconds: 0)
        replication.didSend(to: west, origin: south, through: 10, nowMilliseconds: 0)
        replication.receivedAcknowledgement(from: west, positions: Positions([south: 10]), nowMilliseconds: 600)
        _ = replication.tick(nowMilliseconds: 1000)
        // us-east's entries stalled and are sent again; ap-south's were all acknowledged.
        #expect(replication.peers[west]?.sent == Positions([south: 10]))
        #expect(replication.rangesToSend() == [Fixture.range(west, south, after: 10, through: 20), Fixture.range(west, east, after: 0, through: 10)])
    }

    @Test func acknowledgedEntriesAreNeverSentAgain() {
        var replication = Fixture.streaming(applied: [east: 25], to: west, peerApplied: [:])
        replication.didSend(to: west, origin: east, through: 10, nowMilliseconds: 0)
        replication.receivedAcknowledgement(from: west, positions: Positions([east: 10]), nowMilliseconds: 10)
        _ = replication.tick(nowMilliseconds: 5000)
        #expect(replication.peers[west]?.sent[east] == 10)
        #expect(replication.rangesToSend() == [Fixture.range(west, east, after: 10, through: 20)])
    }

    @Test func aDisconnectedPeerIsNotRetransmittedTo() {
        var replication = Fixture.streaming(applied: [east: 25], to: west, peerApplied: [:])
        replication.didSend(to: west, origin: east, through: 10, nowMilliseconds: 0)
        replication.peerDisconnected(west)
        let heartbeats = replication.tick(nowMilliseconds: 5000)
        #expect(heartbeats.isEmpty)
        #expect(replication.peers[west]?.sent[east] == 10)
        #expect(replication.rangesToSend().isEmpty)
    }
}

struct HeartbeatTests {
    let east = Fixture.east, west = Fixture.west, south = Fixture.south

    @Test func heartbeatsGoToConnectedPeersOncePerInterval() {
        let latest = HLCTimestamp(physicalMilliseconds: 1_700_000_000_000, logical: 3)
        var replication = Fixture.replication(applied: [east: 4, south: 1], latestOwnTimestamp: latest)
        _ = replication.peerConnected(west, nowMilliseconds: 0)
        let tooEarly = replication.tick(nowMilliseconds: 99)
        #expect(tooEarly.isEmpty)
        let sent = replication.tick(nowMilliseconds: 100)
        #expect(sent.map(\.0) == [west], "ap-south is not connected")
        #expect(sent.map(\.1) == [.heartbeat(Heartbeat(latestSequence: 4, latestTimestamp: latest, wallMilliseconds: 100, applied: Positions([east: 4, south: 1])))])
        let tooEarlyAgain = replication.tick(nowMilliseconds: 199)
        #expect(tooEarlyAgain.isEmpty)
        _ = replication.peerConnected(south, nowMilliseconds: 150)
        // Peers in name order; ap-south has never had one.
        let bothDue = replication.tick(nowMilliseconds: 200)
        #expect(bothDue.map(\.0) == [south, west])
    }

    @Test func aHeartbeatStandsInForALostCatchUp() {
        var replication = Fixture.replication(applied: [east: 7])
        _ = replication.peerConnected(west, nowMilliseconds: 0)
        // The peer's catch-up answer was lost; its heartbeat carries the same positions.
        replication.receivedHeartbeat(from: west, Fixture.heartbeat(applied: [east: 3]), nowMilliseconds: 50)
        #expect(replication.peers[west]?.caughtUpRequested == true)
        #expect(replication.peers[west]?.heartbeat == Fixture.heartbeat(applied: [east: 3]))
        #expect(replication.peers[west]?.heartbeatReceivedAtMilliseconds == 50)
        #expect(replication.rangesToSend() == [Fixture.range(west, east, after: 3, through: 7)])
    }

    @Test func aHeartbeatAfterTheCatchUpOnlyAcknowledges() {
        var replication = Fixture.streaming(applied: [east: 25], to: west, peerApplied: [:])
        replication.didSend(to: west, origin: east, through: 10, nowMilliseconds: 0)
        replication.receivedHeartbeat(from: west, Fixture.heartbeat(applied: [east: 2]), nowMilliseconds: 5)
        #expect(replication.peers[west]?.sent[east] == 10, "what is in flight is not sent again")
        #expect(replication.peers[west]?.acknowledged == Positions([east: 2]))
        #expect(replication.rangesToSend() == [Fixture.range(west, east, after: 10, through: 12)])
    }

    @Test func aHeartbeatFromADisconnectedPeerStartsNoStreaming() {
        var replication = Fixture.replication(applied: [east: 7])
        replication.receivedHeartbeat(from: west, Fixture.heartbeat(applied: [east: 3]), nowMilliseconds: 0)
        #expect(replication.peers[west]?.caughtUpRequested == false)
        #expect(replication.peers[west]?.acknowledged == Positions([east: 3]))
        #expect(replication.rangesToSend().isEmpty)
    }
}

struct AppliedPositionTests {
    let east = Fixture.east, west = Fixture.west, south = Fixture.south

    @Test func ownEntriesMoveTheOwnPositionAndKeepTheLatestTimestamp() {
        var replication = Fixture.replication(applied: [:])
        #expect(replication.nextOwnSequence == 1)
        replication.appendedOwnEntry(sequence: 1, timestamp: HLCTimestamp(physicalMilliseconds: 5, logical: 0))
        replication.appendedOwnEntry(sequence: 2, timestamp: HLCTimestamp(physicalMilliseconds: 3, logical: 0))
        #expect(replication.applied == Positions([east: 2]))
        #expect(replication.nextOwnSequence == 3)
        #expect(replication.latestOwnTimestamp == HLCTimestamp(physicalMilliseconds: 5, logical: 0))
    }

    @Test func anArrivedEntryIsAppliedOnlyWhenItIsTheNextOfItsOrigin() {
        var replication = Fixture.replication(applied: [south: 4])
        #expect(replication.disposition(of: Fixture.entry(south, 4)) == .duplicate)
        #expect(replication.disposition(of: Fixture.entry(south, 5)) == .apply)
        #expect(replication.disposition(of: Fixture.entry(south, 6)) == .gap)
        #expect(replication.disposition(of: Fixture.entry(west, 1)) == .apply)
        replication.didApply(Fixture.entry(south, 5))
        #expect(replication.applied == Positions([south: 5]))
        #expect(replication.disposition(of: Fixture.entry(south, 5)) == .duplicate)
        #expect(replication.disposition(of: Fixture.entry(south, 6)) == .apply)
    }

    @Test func aSnapshotRaisesPositionsButNeverLowersThemOrTouchesTheOwnLog() {
        var replication = Fixture.replication(applied: [east: 9, south: 8, west: 2])
        replication.installedSnapshot(positions: Positions([east: 100, south: 5, west: 6]))
        #expect(replication.applied == Positions([east: 9, south: 8, west: 6]))
    }
}
