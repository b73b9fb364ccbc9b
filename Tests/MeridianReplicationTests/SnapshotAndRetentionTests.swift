import MeridianCore
@testable import MeridianReplication
import Testing

/// Snapshot transfers, table copies and truncation points, driven directly on
/// `Replication` (us-east; see `Fixture`).
struct SnapshotTests {
    let east = Fixture.east, west = Fixture.west, south = Fixture.south

    @Test func aSnapshotPausesStreamingAndTheStreamResumesAfterItsPositions() throws {
        var replication = Fixture.streaming(applied: [east: 200, south: 40], to: west, peerApplied: [:])
        let transfer = replication.beginSnapshot(to: west)
        #expect(transfer == SnapshotTransfer(transfer: 1, positions: Positions([east: 200, south: 40]), table: nil, cursor: nil))
        #expect(replication.rangesToSend().isEmpty)
        replication.appendedOwnEntry(sequence: 201, timestamp: HLCTimestamp(physicalMilliseconds: 201, logical: 0))

        var progress = transfer
        progress.catalogSent = true
        progress.cursor = (Fixture.table, try Key("k"))
        progress.nextChunk = 1
        replication.advanceSnapshot(to: west, progress, finished: false, nowMilliseconds: 10)
        #expect(replication.peers[west]?.snapshot == progress)
        #expect(replication.rangesToSend().isEmpty)

        replication.advanceSnapshot(to: west, progress, finished: true, nowMilliseconds: 20)
        #expect(replication.peers[west]?.snapshot == nil)
        #expect(replication.peers[west]?.sent == Positions([east: 200, south: 40]))
        // The peer installs the snapshot and acknowledges its positions: the window opens
        // from there, and only the entry appended during the transfer is left to stream.
        replication.receivedAcknowledgement(from: west, positions: Positions([east: 200, south: 40]), nowMilliseconds: 30)
        #expect(replication.rangesToSend() == [Fixture.range(west, east, after: 200, through: 201)])
    }

    @Test func aFinishedSnapshotKeepsWhatThePeerAlreadyAcknowledgedBeyondIt() {
        var replication = Fixture.streaming(applied: [east: 200, south: 40], to: west, peerApplied: [:])
        let transfer = replication.beginSnapshot(to: west)
        replication.receivedAcknowledgement(from: west, positions: Positions([south: 40]), nowMilliseconds: 0)
        replication.installedSnapshot(positions: Positions([south: 55]))
        replication.receivedAcknowledgement(from: west, positions: Positions([south: 50]), nowMilliseconds: 1)
        replication.advanceSnapshot(to: west, transfer, finished: true, nowMilliseconds: 2)
        #expect(replication.peers[west]?.sent == Positions([east: 200, south: 50]))
    }

    @Test func anUnacknowledgedSnapshotIsFollowedByRetransmissionFromTheAcknowledgedPositions() {
        var replication = Fixture.streaming(applied: [east: 200], to: west, peerApplied: [:])
        let transfer = replication.beginSnapshot(to: west)
        replication.advanceSnapshot(to: west, transfer, finished: true, nowMilliseconds: 100)
        _ = replication.tick(nowMilliseconds: 1099)
        #expect(replication.peers[west]?.sent == Positions([east: 200]))
        _ = replication.tick(nowMilliseconds: 1100)
        // The region then finds those entries truncated and begins another snapshot.
        #expect(replication.rangesToSend() == [Fixture.range(west, east, after: 0, through: 10)])
    }

    @Test func aSnapshotOfTheOwnLogMovesOnlyTheOwnPosition() {
        var replication = Fixture.streaming(applied: [east: 200, south: 40], to: west, peerApplied: [:])
        let ownLogTransfer = replication.beginSnapshot(to: west, onlyOwnLog: true)
        #expect(ownLogTransfer.positions == Positions([east: 200]))
    }

    @Test func progressOfAnAbandonedTransferIsIgnored() {
        var replication = Fixture.streaming(applied: [east: 200], to: west, peerApplied: [:])
        let first = replication.beginSnapshot(to: west)
        let second = replication.beginSnapshot(to: west)
        #expect(first.transfer == 1)
        #expect(second.transfer == 2)
        replication.advanceSnapshot(to: west, first, finished: true, nowMilliseconds: 0)
        #expect(replication.peers[west]?.snapshot == second)
        #expect(replication.peers[west]?.sent == Positions())
    }

    @Test func aDisconnectionAbandonsTheTransfer() {
        var replication = Fixture.streaming(applied: [east: 200], to: west, peerApplied: [:])
        let transfer = replication.beginSnapshot(to: west)
        replication.peerDisconnected(west)
        #expect(replication.peers[west]?.snapshot == nil)
        replication.advanceSnapshot(to: west, transfer, finished: true, nowMilliseconds: 0)
        #expect(replication.peers[west]?.sent == Positions(), "a late chunk's completion moves nothing")
    }
}

struct TableCopyTests {
    let east = Fixture.east, west = Fixture.west

    @Test func aTableCopyNeedsAConnectedPeerWithNoOtherTransfer() throws {
        var replication = Fixture.replication(applied: [east: 5])
        let beganDisconnected = replication.beginTableCopy(to: west, table: Fixture.table)
        #expect(!beganDisconnected)
        _ = replication.peerConnected(west, nowMilliseconds: 0)
        let began = replication.beginTableCopy(to: west, table: Fixture.table)
        #expect(began)
        #expect(replication.peers[west]?.snapshot == SnapshotTransfer(transfer: 1, positions: Positions(), table: Fixture.table, cursor: nil))
        let beganDuringAnother = replication.beginTableCopy(to: west, table: try TableName("other"))
        #expect(!beganDuringAnother)
        #expect(replication.peers[west]?.snapshot?.table == Fixture.table)
    }

    @Test func aFinishedTableCopyMovesNoPosition() throws {
        var replication = Fixture.streaming(applied: [east: 30], to: west, peerApplied: [east: 5])
        replication.didSend(to: west, origin: east, through: 12, nowMilliseconds: 0)
        let began = replication.beginTableCopy(to: west, table: Fixture.table)
        #expect(began)
        let copy = try #require(replication.peers[west]?.snapshot)
        #expect(replication.rangesToSend().isEmpty, "streaming to the peer pauses while the copy runs")
        replication.advanceSnapshot(to: west, copy, finished: true, nowMilliseconds: 50)
        #expect(replication.peers[west]?.sent == Positions([east: 12]))
        #expect(replication.rangesToSend() == [Fixture.range(west, east, after: 12, through: 15)])
    }
}

struct TruncationTests {
    let east = Fixture.east, west = Fixture.west, south = Fixture.south

    @Test func theLogIsTruncatedThroughWhatEveryPeerAcknowledged() {
        var replication = Fixture.replication(applied: [east: 30])
        replication.receivedAcknowledgement(from: west, positions: Positions([east: 20]), nowMilliseconds: 0)
        replication.receivedAcknowledgement(from: south, positions: Positions([east: 12]), nowMilliseconds: 0)
        #expect(replication.truncationPoints() == Positions([east: 12]))
    }

    @Test func aPeerThatNeverAcknowledgedHoldsTheLogBack() {
        var replication = Fixture.replication(applied: [east: 30])
        replication.receivedAcknowledgement(from: west, positions: Positions([east: 20]), nowMilliseconds: 0)
        #expect(replication.truncationPoints()[east] == 0)
    }

    @Test func pastTheRetentionLimitTheOldestEntriesGoAnyway() {
        var replication = Fixture.replication(applied: [east: 120])
        replication.receivedAcknowledgement(from: west, positions: Positions([east: 100]), nowMilliseconds: 0)
        replication.receivedAcknowledgement(from: south, positions: Positions([east: 30]), nowMilliseconds: 0)
        // Fifty entries are retained: 71 to 120; ap-south will need a snapshot.
        #expect(replication.truncationPoints() == Positions([east: 70]))
        replication.receivedAcknowledgement(from: south, positions: Positions([east: 90]), nowMilliseconds: 1)
        #expect(replication.truncationPoints() == Positions([east: 90]))
    }

    @Test func anOriginsOwnAcknowledgementDoesNotHoldItsLogBack() {
        var replication = Fixture.replication(applied: [east: 10, west: 30])
        replication.receivedAcknowledgement(from: south, positions: Positions([west: 25, east: 10]), nowMilliseconds: 0)
        // eu-west acknowledged none of its own entries (it never receives them); only
        // ap-south's acknowledgement counts for eu-west's log, both count for ours.
        #expect(replication.truncationPoints() == Positions([west: 25]))
    }

    @Test func aRegionWithoutPeersMayTruncateEverythingItApplied() {
        let replication = Replication(configuration: ReplicationConfiguration(local: east, peers: []),
                                      applied: Positions([east: 40]), latestOwnTimestamp: .zero)
        #expect(replication.truncationPoints() == Positions([east: 40]))
    }
}
