/// # TwinServer
///
/// `twin serve`: the storage server. It owns the HTTP API (Hummingbird 2), authentication (Ed25519
/// login challenges, short-lived bearer tokens), the deduplicating upload protocol with proof of
/// ownership, access control for reads (owner, or a grantee whose policy the entry's attributes
/// satisfy), grants, statistics, metrics and garbage collection. It never sees a plaintext image or
/// a key; all state lives in a `MetadataStore` and a `BlobStore`.
public enum TwinServerModule {}
