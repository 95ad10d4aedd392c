/// # TwinStoragePostgres
///
/// `MetadataStore` on a PostgreSQL server (postgres-nio): the metadata backend for deployments
/// where several `twin serve` processes share one database. It owns the PostgreSQL schema and its
/// versioned migrations (`PostgresSchema`), the mapping of every store call to one transaction, and
/// the locking that keeps garbage collection on one node from deleting what another node is
/// recording (FORMAT.md, "Several servers on one store").
public enum TwinStoragePostgresModule {}
