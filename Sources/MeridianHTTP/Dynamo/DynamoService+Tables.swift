import Foundation
import MeridianCore
import MeridianDynamo
import MeridianNode
import MeridianRegion

/// CreateTable, DescribeTable, ListTables, DeleteTable, UpdateTable.
///
/// A table is created in one step and is ACTIVE at once (its definition replicates like any
/// other catalog change). DynamoDB refuses to create a table that exists; so does Meridian,
/// also when the existing Meridian table was created under another DynamoDB name that maps
/// to the same Meridian name (`Movies` and `movies`), or through the native API.
extension DynamoService {
    func createTable(_ request: CreateTableRequest) async throws -> Result {
        let name = try TableNames.meridianName(for: request.tableName)
        if let existing = try await catalog()[name] {
            let existingName = TableNames.schema(of: existing).tableName
            throw DynamoError("ResourceInUseException", existingName == request.tableName
                ? "Table already exists: \(request.tableName)"
                : "Table already exists: \(request.tableName) maps to Meridian table '\(name)', which holds \(existing.dynamo == nil ? "the native table" : "DynamoDB table") '\(existingName)' (docs/dynamodb.md)")
        }
        let body = request.definitionBody(createdMilliseconds: Node.systemWallMilliseconds())
        guard case .tableCreated(let definition, _) = try await region(.createTable(name, definition: body), table: request.tableName) else {
            preconditionFailure("createTable answers tableCreated")
        }
        return Result(.object(["TableDescription": description(definition, status: "ACTIVE", items: 0, bytes: 0, leader: nil)]))
    }

    func describeTable(_ tableName: String) async throws -> Result {
        let table = try await table(tableName)
        guard case .table(let status) = try await region(.showTable(table.name), table: tableName, regions: table.definition.regions) else {
            preconditionFailure("showTable answers table")
        }
        return Result(.object(["Table": description(status.definition, status: "ACTIVE", items: status.items ?? 0, bytes: status.bytes ?? 0,
                                                    leader: status.raft?.leader?.name)]))
    }

    func listTables(_ request: ListTablesRequest) async throws -> Result {
        let names = try await catalog().values.map { TableNames.schema(of: $0).tableName }
        let (page, last) = request.page(of: names)
        var body: [String: JSONValue] = ["TableNames": .array(page.map { .string($0) })]
        if let last { body["LastEvaluatedTableName"] = .string(last) }
        return Result(.object(body))
    }

    func deleteTable(_ tableName: String) async throws -> Result {
        let table = try await table(tableName)
        _ = try await region(.deleteTable(table.name), table: tableName)
        return Result(.object(["TableDescription": description(table.definition, status: "DELETING", items: 0, bytes: 0, leader: nil)]))
    }

    /// `ReplicaUpdates` change the table's `regions`: added regions receive a copy, removed
    /// ones delete every byte of it (multi-primary tables; docs/residency.md).
    func updateTable(_ request: UpdateTableRequest) async throws -> Result {
        let table = try await table(request.tableName)
        var regions = Set(table.definition.regions)
        for name in request.create + request.delete {
            let region: RegionID
            do { region = try RegionID(name) } catch { throw DynamoError.validation("One or more parameter values were invalid: \(error.message)") }
            guard node.cluster.regions.contains(where: { $0.name == region }) else {
                throw DynamoError.validation("One or more parameter values were invalid: region '\(name)' is not in this cluster; regions: \(node.cluster.regions.map(\.name.name).joined(separator: ", "))")
            }
            if request.create.contains(name) {
                guard regions.insert(region).inserted else { throw DynamoError.validation("Failed to create the replica in region \(name): the table already has a replica there") }
            } else {
                guard regions.remove(region) != nil else { throw DynamoError.validation("Failed to delete the replica in region \(name): the table has no replica there") }
            }
        }
        guard case .regionsChanged(let definition) = try await region(.changeRegions(table.name, regions.sorted()), table: request.tableName) else {
            preconditionFailure("changeRegions answers regionsChanged")
        }
        return Result(.object(["TableDescription": description(definition, status: "ACTIVE", items: 0, bytes: 0, leader: nil)]))
    }

    func description(_ definition: TableDefinition, status: String, items: Int, bytes: Int, leader: String?) -> JSONValue {
        Responses.tableDescription(definition, status: status, itemCount: items, sizeBytes: bytes, arnRegion: node.region.name, leader: leader)
    }
}
