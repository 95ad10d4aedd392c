/// Failures particular to the SQLite store (the protocol's own outcomes are `MetadataStoreError`).
public enum SQLiteMetadataStoreError: Error, Equatable, Sendable {
    /// The file was written by a newer TwinStore: its schema is past what this build knows, and
    /// writing to it could corrupt data the newer version relies on.
    case unsupportedSchemaVersion(found: Int, supported: Int)
    /// SQLite refused write-ahead logging (e.g. a network filesystem without shared memory); without
    /// it readers would block writers, so the store refuses to open rather than degrade silently.
    case journalModeUnavailable(String)
    /// A stored value did not decode: the file was edited by hand or is damaged.
    case malformedRow(column: String)
    /// The store was used after `close()`.
    case closed
    /// Syncing the write-ahead log failed (errno `code`): a committed change may not be durable.
    case syncFailed(path: String, code: Int32)
}
