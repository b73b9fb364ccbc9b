import Foundation
import MeridianCore
import MeridianTestSupport
import Testing

/// A leader that freezes without closing its connections (SIGSTOP: its sockets stay open,
/// the kernel even accepts new ones) under three real regions with the default latency
/// matrix (issue 15, item 6). A write forwarded to it used to wait for the forwarder's
/// 30-second timeout although the others elect a new leader within about a second.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct GrayFailureTests {
    /// Codes of a write that was refused before any region applied it.
    static let notApplied: Set<String> = ConsensusTests.refusedBeforeProposal

    @Test func writesThroughAFollowerFollowLeadershipAwayFromAFrozenLeader() async throws {
        let cluster = try ConsensusTests.cluster()
        defer { cluster.stop() }
        #expect(await ConsensusTests.call("PUT", "\(cluster.url("us-east"))/v1/tables/accounts", body: #"{"mode": "strong"}"#)?.status == 201)
        #expect(try await waitFor { await ConsensusTests.agreedLeader(cluster, table: "accounts") == "us-east" })
        #expect(await ConsensusTests.call("PUT", "\(cluster.url("eu-west"))/v1/tables/accounts/items/k", body: "0")?.status == 200)

        let leader = try #require(cluster.processes.process(of: "us-east"))
        leader.send(SIGSTOP)
        defer { leader.send(SIGCONT) }
        var acknowledged: Int? = nil
        var answers: [String] = []
        for value in 1...12 {
            // The session gives up after eight seconds: an answer before that is what is tested.
            let answer = await ConsensusTests.call("PUT", "\(cluster.url("eu-west"))/v1/tables/accounts/items/k", body: String(value))
            guard let answer else {
                answers.append("no answer within the client's 8 s")
                break
            }
            let code = answer.fields["error"].flatMap { error -> String? in
                if case .object(let fields) = error, case .string(let code)? = fields["code"] { return code }
                return nil
            }
            answers.append("\(answer.status) \(code ?? "")")
            if answer.status == 200 {
                acknowledged = value
                break
            }
            // The only other answers: refused before it was applied, or (sent to the frozen
            // leader before anyone noticed) an outcome the forwarder cannot know.
            #expect(answer.status == 503 && (Self.notApplied.contains(code ?? "") || code == "forward_timeout"), "\(answers)")
        }
        #expect(acknowledged != nil, "a write through eu-west succeeds while us-east is frozen: \(answers)")
        let newLeader = await ConsensusTests.agreedLeader(cluster, table: "accounts", among: ["eu-west", "ap-south"])
        #expect(newLeader != nil && newLeader != "us-east", "eu-west and ap-south elected another leader")

        leader.send(SIGCONT)
        if let acknowledged {
            #expect(try await waitFor {
                let read = await ConsensusTests.call("GET", "\(cluster.url("ap-south"))/v1/tables/accounts/items/k?consistency=strong")
                return read?.fields["value"] == .integer(Int64(acknowledged))
            }, "the acknowledged write is what a strong read returns after us-east thaws")
        }
    }
}
