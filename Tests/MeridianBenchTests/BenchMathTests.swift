import Foundation
@testable import MeridianBench
import Testing

/// The arithmetic behind the ratio lines, and the histograms they read.
struct BenchMathTests {
    @Test func percentilesComeFromTheRecordedLatencies() {
        var histogram = LatencyHistogram()
        for milliseconds in 1...100 { histogram.record(microseconds: UInt64(milliseconds * 1000)) }
        #expect(histogram.count == 100)
        // HDR histograms keep three significant digits.
        #expect(abs(histogram.p50! - 50) <= 0.05)
        #expect(abs(histogram.p99! - 99) <= 0.1)
        #expect(abs(histogram.maxMilliseconds! - 100) <= 0.1)
        #expect(LatencyHistogram().p50 == nil)
    }

    @Test func aLatencyAboveTheMaximumIsClampedNotLost() {
        var histogram = LatencyHistogram()
        histogram.record(microseconds: LatencyHistogram.microsecondsMax * 10)
        #expect(histogram.count == 1)
        #expect(histogram.clampedCount == 1)
    }

    @Test func histogramsAddUp() {
        var first = LatencyHistogram(), second = LatencyHistogram()
        first.record(.milliseconds(10))
        second.record(.milliseconds(30))
        second.record(microseconds: LatencyHistogram.microsecondsMax + 1)
        first.add(second)
        #expect(first.count == 3)
        #expect(first.clampedCount == 1)
        #expect(abs(first.p50! - 30) <= 0.05)
    }

    @Test func throughputCountsOnlyTheMeasuredWindow() {
        #expect(LoadResult(latencies: LatencyHistogram(), operations: 500, errors: 3, seconds: 2).throughput == 250)
        #expect(LoadResult(latencies: LatencyHistogram(), operations: 500, errors: 0, seconds: 0).throughput == 0)
    }

    @Test func ratiosRefuseAMissingOrZeroDenominator() {
        #expect(BenchMath.ratio(10, 4) == 2.5)
        #expect(BenchMath.ratio(10, 0) == nil)
        #expect(BenchMath.ratio(nil, 4) == nil)
        #expect(BenchMath.format(nil) == "n/a")
        #expect(BenchMath.format(1.23456) == "1.235")
        #expect(BenchMath.milliseconds(12.345) == "12.35")
    }

    @Test func theStrongWriteFloorIsTheRoundTripToTheLeaderPlusItsNearestMajority() {
        let delays: [String: Double] = ["a-b": 35, "a-c": 93, "b-c": 60]
        let oneWay: (String, String) -> Double = { delays["\(min($0, $1))-\(max($0, $1))"]! }
        // Leader a: its nearest majority partner is b (2 x 35 ms).
        #expect(BenchMath.strongWriteFloorMilliseconds(client: "a", leader: "a", regions: ["a", "b", "c"], oneWay: oneWay) == 70)
        #expect(BenchMath.strongWriteFloorMilliseconds(client: "c", leader: "a", regions: ["a", "b", "c"], oneWay: oneWay) == 186 + 70)
        // Leader c: nearest is b (2 x 60 ms).
        #expect(BenchMath.strongWriteFloorMilliseconds(client: "a", leader: "c", regions: ["a", "b", "c"], oneWay: oneWay) == 186 + 120)
        // One region: nothing to wait for.
        #expect(BenchMath.strongWriteFloorMilliseconds(client: "a", leader: "a", regions: ["a"], oneWay: oneWay) == 0)
    }

    @Test func etcdPeersAreToldApartByTheirServerFromHeader() {
        let request = Array("GET /raft/stream/msgappv2/8e9e05c52164694d HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Server-From: 91BC3C398FB3C146\r\n\r\n".utf8)
        #expect(EtcdCluster.serverFrom(request) == "91bc3c398fb3c146")
        #expect(EtcdCluster.serverFrom(Array("GET /version HTTP/1.1\r\n\r\n".utf8)) == nil)
    }
}
