/// # TwinStorage
///
/// Where a TwinStore server keeps things, behind two protocols: `MetadataStore` (users, sessions,
/// files, entries, grants, upload sessions; every method one transaction) and `BlobStore` (chunk
/// ciphertexts by tag; dumb, content-addressed, verified on read). Servers hold no other state, so
/// several can share one metadata database and one blob store. Implementations: `SQLiteMetadataStore`
/// and `FileSystemBlobStore` (the embedded defaults), and `MemoryBlobStore` for tests; each protocol
/// has one conformance suite (Tests/TwinStorageTests) that every implementation passes.
public enum TwinStorageModule {}
