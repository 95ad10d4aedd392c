/// # TwinStorage
///
/// Where a TwinStore server keeps things, behind two protocols: `MetadataStore` (users, sessions,
/// files, entries, grants, upload sessions; every method one transaction) and `BlobStore` (chunk
/// ciphertexts by tag; dumb, content-addressed, verified on read). Servers hold no other state, so
/// several can share one metadata database and one blob store. Implementations: SQLite and a local
/// folder (the embedded defaults); each protocol has one conformance suite that every implementation
/// passes.
public enum TwinStorageModule {}
