import MeridianCore
import MeridianRaft
import MeridianReplication
import MeridianStorage

/// One group per `primary` or `strong` table this region holds, started and ended as the
/// catalog changes.
extension Step {
    /// Starts a group for every `primary` or `strong` table this region holds, and ends the
    /// groups of tables that were deleted or re-created.
    mutating func syncRaftGroups(writer: any StorageWriter) throws {
        guard state.catalogChangedSinceSync else { return }
        state.catalogChangedSinceSync = false
        for (table, group) in state.consensus.groups.sorted(by: { $0.key < $1.key }) where table != CatalogGroup.name {
            let record = state.catalog[table]
            if record?.definition == nil || record?.deletedBefore != group.incarnation || record?.definition?.votingRegions.contains(local) != true {
                try endGroup(table, writer: writer)
            }
        }
        for record in state.catalog.values.sorted(by: { $0.name < $1.name }) {
            guard let definition = record.definition, definition.mode != .multiPrimary, definition.votingRegions.contains(local) else { continue }
            if state.consensus.groups[record.name] != nil {
                state.consensus.groups[record.name]!.definition = definition
                continue
            }
            try startGroup(record, definition: definition, writer: writer)
        }
    }

    /// The catalog group's synthetic record and definition: a strong group over every
    /// region of the cluster, never deleted.
    var catalogGroupDefinition: TableDefinition { CatalogGroup.definition(regions: region.configuration.clusterRegions) }

    mutating func startGroup(_ record: CatalogRecord, definition: TableDefinition, writer: any StorageWriter) throws {
        let joining = state.joiningTables.remove(record.name) != nil
        let group = try Region.restoreGroup(record: record, definition: definition, configuration: region.configuration, joining: joining, reader: writer)
        state.consensus.groups[record.name] = group.group
        try writer.setMetadata(RaftMetadata.incarnation(record.name), record.deletedBefore.rawValue.bigEndianBytes)
        // The region that should lead first does not wait for an election timeout.
        let first = definition.mode == .primary ? definition.primary : record.version.origin
        if first == local && group.isNew && !joining {
            state.consensus.groups[record.name]?.node.campaign()
        }
    }

    mutating func endGroup(_ table: TableName, writer: any StorageWriter) throws {
        guard let group = state.consensus.groups.removeValue(forKey: table) else { return }
        try writer.deleteRaftEntries(group: RaftMetadata.group(table), through: .max)
        for name in [RaftMetadata.hardState(table), RaftMetadata.applied(table), RaftMetadata.speculative(table), RaftMetadata.incarnation(table),
                     RaftMetadata.snapshot(table)] {
            try writer.setMetadata(name, [])
        }
        if group.speculativeThrough > 0 {
            for index in 1...group.speculativeThrough where try writer.metadata(RaftMetadata.undo(table, index))?.isEmpty == false {
                try writer.setMetadata(RaftMetadata.undo(table, index), [])
            }
        }
        let gone = MeridianError.tableNotFound(table)
        for (ticket, proposal) in state.consensus.pendingProposals.sorted(by: { $0.key < $1.key }) where proposal.table == table {
            _ = state.consensus.removeProposal(ticket: ticket)
            state.completions.append((ticket, .failure(gone)))
        }
        for (ticket, read) in state.consensus.pendingReads.sorted(by: { $0.key < $1.key }) where read.table == table {
            state.consensus.pendingReads[ticket] = nil
            state.completions.append((ticket, .failure(gone)))
        }
    }
}
