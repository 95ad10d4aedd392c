/// The PostgreSQL schema as an ordered list of migrations. A migration is never edited once
/// released: change the schema by appending one. `schema_version` holds one row per applied
/// migration; `PostgresMetadataStore.open` applies the missing ones in one transaction under an
/// advisory lock, so servers starting together upgrade the database exactly once.
///
/// Times are Unix milliseconds (`bigint`), as in the SQLite schema, so both stores keep the same
/// precision. Names sort bytewise (`COLLATE "C"`) whatever the database's locale.
enum PostgresSchema {
    struct Migration {
        var version: Int
        var statements: [String]
    }

    /// The advisory lock key for migrations (arbitrary, fixed: "twin" in ASCII).
    static let migrationLock: Int64 = 0x7477_696E

    static let bookkeeping = """
        CREATE TABLE IF NOT EXISTS schema_version (
            version    integer PRIMARY KEY,
            applied_at bigint NOT NULL
        )
        """

    static let migrations: [Migration] = [
        Migration(version: 1, statements: [
            """
            CREATE TABLE users (
                name                 text COLLATE "C" PRIMARY KEY,
                signing_key          bytea NOT NULL,
                agreement_key        bytea NOT NULL,
                authority_parameters bytea NOT NULL,
                created_at           bigint NOT NULL
            )
            """,
            // No foreign key on the user: nonces are handed out for unknown names too.
            """
            CREATE TABLE login_challenges (
                nonce      bytea PRIMARY KEY,
                "user"     text NOT NULL,
                expires_at bigint NOT NULL
            )
            """,
            "CREATE INDEX login_challenges_by_expiry ON login_challenges(expires_at)",
            """
            CREATE TABLE sessions (
                token_hash bytea PRIMARY KEY,
                "user"     text COLLATE "C" NOT NULL REFERENCES users(name) ON DELETE CASCADE,
                expires_at bigint NOT NULL
            )
            """,
            "CREATE INDEX sessions_by_expiry ON sessions(expires_at)",
            // refs counts file_chunks rows naming the chunk; unreferenced_since is set whenever refs
            // is 0 and starts the grace period; lost marks a blob found missing or corrupt.
            """
            CREATE TABLE chunks (
                tag                bytea PRIMARY KEY,
                size               bigint NOT NULL CHECK (size >= 0),
                refs               bigint NOT NULL DEFAULT 0 CHECK (refs >= 0),
                unreferenced_since bigint,
                lost               boolean NOT NULL DEFAULT false,
                CHECK ((refs = 0) = (unreferenced_since IS NOT NULL))
            )
            """,
            "CREATE INDEX chunks_garbage ON chunks(unreferenced_since) WHERE refs = 0",
            "CREATE TABLE files (tag bytea PRIMARY KEY, manifest bytea NOT NULL)",
            // The foreign key to chunks means a referenced chunk can never be deleted, even by a
            // reference-counting bug: collection would fail instead of losing data.
            """
            CREATE TABLE file_chunks (
                file_tag  bytea NOT NULL REFERENCES files(tag),
                position  integer NOT NULL,
                chunk_tag bytea NOT NULL REFERENCES chunks(tag),
                PRIMARY KEY (file_tag, position)
            )
            """,
            "CREATE INDEX file_chunks_by_chunk ON file_chunks(chunk_tag)",
            """
            CREATE TABLE entries (
                owner      text COLLATE "C" NOT NULL REFERENCES users(name),
                name       text COLLATE "C" NOT NULL,
                file_tag   bytea NOT NULL REFERENCES files(tag),
                attributes text[] NOT NULL,
                abe_key    bytea NOT NULL,
                owner_key  bytea NOT NULL,
                media_type text NOT NULL,
                size       bigint NOT NULL CHECK (size >= 0),
                created_at bigint NOT NULL,
                charged    bigint NOT NULL,
                PRIMARY KEY (owner, name)
            )
            """,
            "CREATE INDEX entries_by_file ON entries(file_tag)",
            """
            CREATE TABLE grants (
                owner      text COLLATE "C" NOT NULL REFERENCES users(name),
                grantee    text COLLATE "C" NOT NULL REFERENCES users(name),
                policy     text NOT NULL,
                sealed_key bytea NOT NULL,
                created_at bigint NOT NULL,
                PRIMARY KEY (owner, grantee)
            )
            """,
            "CREATE INDEX grants_by_grantee ON grants(grantee)",
            """
            CREATE TABLE upload_sessions (
                id               text PRIMARY KEY,
                "user"           text COLLATE "C" NOT NULL REFERENCES users(name) ON DELETE CASCADE,
                challenge        bytea,
                ownership_proven boolean NOT NULL,
                expires_at       bigint NOT NULL
            )
            """,
            "CREATE INDEX upload_sessions_by_user ON upload_sessions(\"user\", expires_at)",
            // Each announced file's packed chunk list (order matters); the distinct tags, with what
            // is missing and received, are rows so that collection can ask whether a session names one.
            """
            CREATE TABLE upload_session_files (
                session  text NOT NULL REFERENCES upload_sessions(id) ON DELETE CASCADE,
                position integer NOT NULL,
                file_tag bytea NOT NULL,
                chunks   bytea NOT NULL,
                PRIMARY KEY (session, position)
            )
            """,
            """
            CREATE TABLE upload_session_tags (
                session  text NOT NULL REFERENCES upload_sessions(id) ON DELETE CASCADE,
                tag      bytea NOT NULL,
                missing  boolean NOT NULL,
                received boolean NOT NULL,
                PRIMARY KEY (session, tag)
            )
            """,
            "CREATE INDEX upload_session_tags_by_tag ON upload_session_tags(tag)",
            // Tags whose blobs a collector is deleting: recording them is refused meanwhile.
            "CREATE TABLE doomed_chunks (tag bytea PRIMARY KEY, since bigint NOT NULL)",
        ]),
        // Entries carry their owner's seal; one row holds the store's secret, made on first use.
        Migration(version: 2, statements: [
            "ALTER TABLE entries ADD COLUMN owner_seal bytea NOT NULL DEFAULT ''::bytea",
            "CREATE TABLE server_secret (id integer PRIMARY KEY CHECK (id = 1), secret bytea NOT NULL)",
            // How many uploads sent each chunk's data (a dedup threshold counts them).
            "ALTER TABLE chunks ADD COLUMN uploads integer NOT NULL DEFAULT 1",
        ]),
    ]
}
