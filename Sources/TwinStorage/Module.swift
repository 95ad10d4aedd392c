/// # TwinStorage
///
/// The storage kit: where a TwinStore server keeps things, behind two small protocols.
/// `MetadataStore` holds users, logins, files, entries, grants and upload sessions (every method
/// one transaction, refusals as typed `MetadataStoreError`s). `BlobBackend` holds chunk ciphertexts
/// by tag and does nothing else; `BlobStore`, one layer above, verifies every blob read against its
/// tag for every backend. Servers hold no other state, so several can share one metadata store and
/// one blob backend. Here live the embedded defaults (`SQLiteMetadataStore`,
/// `FileSystemBlobBackend`), the in-memory reference implementations (`MemoryMetadataStore`,
/// `MemoryBlobBackend`) and the audit (`StoreAudit`); PostgreSQL and S3 are modules of their own,
/// and every implementation passes the suites of `TwinStorageConformance`.
public enum TwinStorageModule {}
