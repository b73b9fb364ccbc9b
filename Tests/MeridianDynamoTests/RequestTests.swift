import Foundation
import MeridianCore
import MeridianDynamo
import Testing

@Suite("Requests")
struct RequestTests {
    static func body(_ text: String) -> RequestBody { try! RequestBody(try! JSONValue.parse(Array(text.utf8))) }

    static let schema = DynamoSchema(tableName: "Music", hashKey: .init(name: "artist", type: .string), rangeKey: .init(name: "year", type: .number))

    @Test func createTableReadsTheKeySchemaAndMeridianTags() throws {
        let request = try CreateTableRequest(Self.body("""
            {"TableName": "Music", "BillingMode": "PAY_PER_REQUEST",
             "AttributeDefinitions": [{"AttributeName": "artist", "AttributeType": "S"}, {"AttributeName": "year", "AttributeType": "N"}],
             "KeySchema": [{"AttributeName": "artist", "KeyType": "HASH"}, {"AttributeName": "year", "KeyType": "RANGE"}],
             "Tags": [{"Key": "meridian:mode", "Value": "strong"}, {"Key": "meridian:regions", "Value": "us-east, eu-west,ap-south"}]}
            """))
        #expect(request.schema == DynamoSchema(tableName: "Music", hashKey: .init(name: "artist", type: .string), rangeKey: .init(name: "year", type: .number)))
        let cluster = try ["us-east", "eu-west", "ap-south"].map { try RegionID($0) }
        let definition = try TableDefinition.resolve(name: try TableNames.meridianName(for: "Music"), body: request.definitionBody(createdMilliseconds: 5), clusterRegions: cluster)
        #expect(definition.mode == .strong)
        #expect(definition.regions.count == 3)
        #expect(definition.dynamo?.tableName == "Music")
        #expect(definition.dynamo?.createdMilliseconds == 5)
    }

    @Test(arguments: [
        (#""KeySchema": [{"AttributeName": "a", "KeyType": "RANGE"}], "AttributeDefinitions": [{"AttributeName": "a", "AttributeType": "S"}]"#,
         "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"),
        (#""KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}], "AttributeDefinitions": [{"AttributeName": "b", "AttributeType": "S"}]"#,
         "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [a], AttributeDefinitions: [b]"),
        (#""KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}], "AttributeDefinitions": [{"AttributeName": "a", "AttributeType": "S"}, {"AttributeName": "b", "AttributeType": "S"}]"#,
         "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions"),
        (#""KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}], "AttributeDefinitions": [{"AttributeName": "a", "AttributeType": "BOOL"}]"#,
         "1 validation error detected: Value 'BOOL' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]"),
    ])
    func createTableRefusesBadKeySchemasWithDynamoDBsMessages(_ members: String, _ message: String) {
        let error = #expect(throws: DynamoError.self) {
            try CreateTableRequest(Self.body(#"{"TableName": "t12", "BillingMode": "PAY_PER_REQUEST", \#(members)}"#))
        }
        #expect(error?.type == "ValidationException")
        #expect(error?.message == message)
    }

    @Test func indexesStreamsAndUnknownTagsAreRefusedAsLeftOut() {
        let keys = #""KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}], "AttributeDefinitions": [{"AttributeName": "a", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST""#
        for extra in [#""GlobalSecondaryIndexes": []"#, #""StreamSpecification": {"StreamEnabled": true}"#, #""Tags": [{"Key": "team", "Value": "x"}]"#] {
            let error = #expect(throws: DynamoError.self) { try CreateTableRequest(Self.body("{\"TableName\": \"t12\", \(keys), \(extra)}")) }
            #expect(error?.message.hasPrefix("Meridian does not support") == true, "\(extra)")
        }
    }

    @Test func putItemChecksEverythingItCanBeforeTheTableIsKnown() {
        var error = #expect(throws: DynamoError.self) { try PutItemRequest(Self.body(#"{"TableName": "Music"}"#)) }
        #expect(error?.message == "1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null")
        error = #expect(throws: DynamoError.self) {
            try PutItemRequest(Self.body(#"{"TableName": "Music", "Item": {"a": {"S": "x"}}, "ReturnValues": "ALL_NEW"}"#))
        }
        #expect(error?.message == "Return values set to invalid value")
        error = #expect(throws: DynamoError.self) {
            try PutItemRequest(Self.body(#"{"TableName": "Music", "Item": {"a": {"S": "x"}}, "ExpressionAttributeValues": {":v": {"S": "x"}}}"#))
        }
        #expect(error?.message == "Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}")
        error = #expect(throws: DynamoError.self) {
            try PutItemRequest(Self.body(#"{"TableName": "Music", "Item": {"a": {"S": "x"}}, "Expected": {}}"#))
        }
        #expect(error?.message.hasPrefix("Meridian does not support the legacy parameter Expected") == true)
    }

    @Test func conditionsDecideAndFailuresCarryTheItemWhenAsked() throws {
        let request = try PutItemRequest(Self.body("""
            {"TableName": "Music", "Item": {"artist": {"S": "a"}, "year": {"N": "1"}}, "ConditionExpression": "attribute_not_exists(artist)",
             "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
            """))
        #expect(try request.plan(current: nil) == nil)
        let existing: Item = ["artist": .string("a"), "year": .number(DynamoNumber(1)), "old": .bool(true)]
        let error = #expect(throws: DynamoError.self) { try request.plan(current: existing) }
        #expect(error?.type == "ConditionalCheckFailedException")
        #expect(error?.item == existing)
    }

    @Test func updateItemPlansTheNewItemAndWhatItReturns() throws {
        let request = try UpdateItemRequest(Self.body("""
            {"TableName": "Music", "Key": {"artist": {"S": "a"}, "year": {"N": "1"}}, "UpdateExpression": "SET plays = if_not_exists(plays, :zero) + :one",
             "ExpressionAttributeValues": {":zero": {"N": "0"}, ":one": {"N": "1"}}, "ReturnValues": "UPDATED_NEW"}
            """))
        let first = try request.plan(current: nil, keyNames: ["artist", "year"])
        #expect(first.item == ["artist": .string("a"), "year": .number(DynamoNumber(1)), "plays": .number(DynamoNumber(1))])
        #expect(first.returned == ["plays": .number(DynamoNumber(1))])
        let second = try request.plan(current: first.item, keyNames: ["artist", "year"])
        #expect(second.item["plays"] == .number(DynamoNumber(2)))
    }

    @Test func keyConditionsBecomeKeyRanges() throws {
        let codec = KeyCodec(schema: Self.schema)
        func range(_ expression: String) throws -> KeyRange {
            // Only the placeholders the expression uses (an unused one is refused).
            let values = [(":a", #"{"S": "Queen"}"#), (":lo", #"{"N": "1970"}"#), (":hi", #"{"N": "1980"}"#)]
                .filter { expression.contains($0.0) }.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ")
            let request = try QueryRequest(Self.body("""
                {"TableName": "Music", "KeyConditionExpression": "\(expression)", "ExpressionAttributeValues": {\(values)}}
                """))
            return try KeyRange(try request.keyCondition(schema: Self.schema), codec: codec)
        }
        let prefix = Array("Queen/".utf8)
        func key(_ year: String) throws -> Key { try codec.key(hash: .string("Queen"), range: .number(try DynamoNumber(parsing: year))) }
        #expect(try range("artist = :a") == KeyRange(prefix: prefix))
        #expect(try range("artist = :a AND year BETWEEN :lo AND :hi") == KeyRange(prefix: prefix, lower: (try key("1970"), true), upper: (try key("1980"), true)))
        #expect(try range(":lo < year AND artist = :a") == KeyRange(prefix: prefix, lower: (try key("1970"), false)))
        let between = try range("artist = :a AND year BETWEEN :lo AND :hi")
        let inside = try key("1975")
        let after = try key("1981")
        let otherArtist = try codec.key(hash: .string("Queens"), range: .number(DynamoNumber(1975)))
        #expect(between.contains(inside) && !between.contains(after) && !between.contains(otherArtist))
        #expect(between.resuming(after: try key("1975"), reverse: false).lower?.key == (try key("1975")))
        #expect(between.resuming(after: try key("1975"), reverse: true).upper?.key == (try key("1975")))
    }

    @Test func unsupportedKeyConditionsGetDynamoDBsMessages() {
        func keyCondition(_ expression: String) throws(DynamoError) {
            let values = [(":a", #"{"S": "Queen"}"#), (":n", #"{"N": "1"}"#), (":e", #"{"S": ""}"#)]
                .filter { expression.contains($0.0) }.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ")
            let request = try QueryRequest(Self.body("""
                {"TableName": "Music", "KeyConditionExpression": "\(expression)", "ExpressionAttributeValues": {\(values)}}
                """))
            _ = try request.keyCondition(schema: Self.schema)
        }
        var error = #expect(throws: DynamoError.self) { try keyCondition("year = :n") }
        #expect(error?.message == "Query condition missed key schema element: artist")
        error = #expect(throws: DynamoError.self) { try keyCondition("artist = :a OR year = :n") }
        #expect(error?.message == "Query key condition not supported")
        error = #expect(throws: DynamoError.self) { try keyCondition("artist = :n") }
        #expect(error?.message == "One or more parameter values were invalid: Condition parameter type does not match schema type")
        error = #expect(throws: DynamoError.self) { try keyCondition("artist = :e") }
        #expect(error?.message == "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: artist")
    }

    @Test func scansCheckTheirSegments() {
        var error = #expect(throws: DynamoError.self) { try ScanRequest(Self.body(#"{"TableName": "Music", "Segment": 3, "TotalSegments": 2}"#)) }
        #expect(error?.message == "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: 3 is not less than TotalSegments: 2")
        error = #expect(throws: DynamoError.self) { try ScanRequest(Self.body(#"{"TableName": "Music", "Segment": 0}"#)) }
        #expect(error?.message == "The TotalSegments parameter is required but was not present in the request when Segment parameter is present")
        error = #expect(throws: DynamoError.self) { try ScanRequest(Self.body(#"{"TableName": "Music", "Limit": 0}"#)) }
        #expect(error?.message == "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1")
    }

    @Test func batchesAreBoundedAsDynamoDBBoundsThem() {
        let keys = (0..<101).map { #"{"a": {"S": "\#($0)"}}"# }.joined(separator: ",")
        var error = #expect(throws: DynamoError.self) { try BatchGetItemRequest(Self.body(#"{"RequestItems": {"Music": {"Keys": [\#(keys)]}}}"#)) }
        #expect(error?.message == "Too many items requested for the BatchGetItem call")
        let puts = (0..<26).map { #"{"PutRequest": {"Item": {"a": {"S": "\#($0)"}}}}"# }.joined(separator: ",")
        error = #expect(throws: DynamoError.self) { try BatchWriteItemRequest(Self.body(#"{"RequestItems": {"Music": [\#(puts)]}}"#)) }
        #expect(error?.message == "Too many items requested for the BatchWriteItem call")
    }

    @Test func listTablesPagesInNameOrder() throws {
        let request = try ListTablesRequest(Self.body(#"{"Limit": 2, "ExclusiveStartTableName": "b"}"#))
        let page = request.page(of: ["d", "a", "c", "b", "e"])
        #expect(page.names == ["c", "d"])
        #expect(page.lastEvaluated == "d")
        #expect(try ListTablesRequest(Self.body(#"{"ExclusiveStartTableName": "d"}"#)).page(of: ["d", "a", "e"]).lastEvaluated == nil)
    }

    @Test func aTransactionWithAFailedConditionIsCancelledWithOneReasonPerAction() throws {
        let request = try TransactWriteItemsRequest(Self.body("""
            {"TransactItems": [
              {"Put": {"TableName": "Music", "Item": {"artist": {"S": "a"}, "year": {"N": "1"}}, "ConditionExpression": "attribute_not_exists(artist)"}},
              {"Update": {"TableName": "Music", "Key": {"artist": {"S": "b"}, "year": {"N": "1"}}, "UpdateExpression": "SET plays = plays + :one",
                          "ConditionExpression": "plays < :ten", "ExpressionAttributeValues": {":one": {"N": "1"}, ":ten": {"N": "10"}},
                          "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
              {"ConditionCheck": {"TableName": "Music", "Key": {"artist": {"S": "c"}, "year": {"N": "1"}}, "ConditionExpression": "attribute_exists(artist)"}}
            ]}
            """))
        let b: Item = ["artist": .string("b"), "year": .number(DynamoNumber(1)), "plays": .number(DynamoNumber(10))]
        let c: Item = ["artist": .string("c"), "year": .number(DynamoNumber(1))]
        let error = #expect(throws: DynamoError.self) { try request.plan(current: [nil, b, c], keyNames: ["artist", "year"]) }
        #expect(error?.type == "TransactionCanceledException")
        #expect(error?.message == "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed, None]")
        #expect(error?.cancellationReasons?.map(\.code) == ["None", "ConditionalCheckFailed", "None"])
        #expect(error?.cancellationReasons?[1].item == b)
        var fewer = b
        fewer["plays"] = .number(DynamoNumber(3))
        let planned = try request.plan(current: [nil, fewer, c], keyNames: ["artist", "year"])
        #expect(planned.count == 3)
        #expect(planned[2] == .check)
        guard case .put(let updated) = planned[1] else { Issue.record("the update plans a put"); return }
        #expect(updated["plays"] == .number(DynamoNumber(4)))
    }
}
