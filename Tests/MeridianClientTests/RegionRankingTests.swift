import Testing
@testable import MeridianClient

/// The ranking state machine on its own: no sockets, no clock (instants are arguments).
struct RegionRankingTests {
    static let regions = ["us-east", "eu-west", "ap-south"].map { RegionAddress(name: $0, url: "http://\($0)") }

    static func ranking(priors: [Duration] = [.zero, .zero, .zero]) -> RegionRanking {
        RegionRanking(regions: regions, priorRoundTrips: priors, backoffMin: .seconds(1), backoffMax: .seconds(8))
    }

    @Test func beforeAnyMeasurementTheSimulatedRoundTripDecidesAndTiesKeepTheGivenOrder() {
        #expect(Self.ranking().ranked.map(\.address.name) == ["us-east", "eu-west", "ap-south"])
        let fromAPSouth = Self.ranking(priors: [.milliseconds(186), .milliseconds(120), .milliseconds(1)])
        #expect(fromAPSouth.ranked.map(\.address.name) == ["ap-south", "eu-west", "us-east"])
    }

    @Test func measuredRoundTripsRankNearestFirstAndUnreachableRegionsGoLast() {
        var ranking = Self.ranking()
        let now = ContinuousClock.now
        ranking.recordMeasurement("us-east", roundTrip: .milliseconds(80), now: now)
        ranking.recordMeasurement("eu-west", roundTrip: nil, now: now)
        ranking.recordMeasurement("ap-south", roundTrip: .milliseconds(2), now: now)
        #expect(ranking.ranked.map(\.address.name) == ["ap-south", "us-east", "eu-west"])
        #expect(ranking.statuses.map(\.healthy) == [true, true, false])
        #expect(ranking.statuses.map(\.roundTripMilliseconds) == [2, 80, nil])

        ranking.recordMeasurement("us-east", roundTrip: nil, now: now)
        #expect(ranking.statuses.last?.roundTripMilliseconds == 80, "a failed measurement keeps the last one that reached the region")
    }

    @Test func aFailedRegionIsLeftAloneForADoublingBoundedBackoffThenProbedOnce() {
        var ranking = Self.ranking()
        let start = ContinuousClock.now
        ranking.recordFailure("us-east", now: start)
        #expect(ranking.ranked.map(\.address.name) == ["eu-west", "ap-south", "us-east"])
        #expect(ranking.takeDueProbes(now: start + .milliseconds(999)).isEmpty)
        #expect(ranking.takeDueProbes(now: start + .seconds(1)).map(\.name) == ["us-east"])
        #expect(ranking.takeDueProbes(now: start + .seconds(2)).isEmpty, "one probe at a time")

        ranking.recordProbe("us-east", answered: false, now: start + .seconds(1))
        #expect(ranking.takeDueProbes(now: start + .milliseconds(2999)).isEmpty, "the second failure doubles the backoff")
        #expect(ranking.takeDueProbes(now: start + .seconds(3)).map(\.name) == ["us-east"])

        #expect((1...40).map { ranking.backoff(failures: $0) }.max() == .seconds(8))
        ranking.recordProbe("us-east", answered: true, now: start + .seconds(3))
        #expect(ranking.ranked.first?.address.name == "us-east")
        #expect(ranking.ranked.allSatisfy { $0.healthy })
    }

    @Test func anAnswerMakesAFailedRegionHealthyAgain() {
        var ranking = Self.ranking()
        ranking.recordFailure("us-east", now: .now)
        ranking.recordFailure("us-east", now: .now)
        ranking.recordAnswer("us-east")
        #expect(ranking.ranked.map(\.address.name) == ["us-east", "eu-west", "ap-south"])
        #expect(ranking.takeDueProbes(now: .now + .seconds(60)).isEmpty)
    }
}
