/// The SQLite schema as an ordered list of migrations. A migration is never edited once released:
/// change the schema by appending one. `schema_version` holds one row per applied migration, and
/// `open` applies the missing ones in order inside one transaction, so a crash mid-upgrade leaves
/// the previous version intact and several processes opening one file upgrade it exactly once.
enum SQLiteSchema {
    struct Migration {
        var version: Int
        /// One statement per element, run in order.
        var statements: [String]
    }

    static let bookkeeping = """
        CREATE TABLE IF NOT EXISTS schema_version (
            version    INTEGER PRIMARY KEY,
            applied_at INTEGER NOT NULL
        )
        """

    static let migrations: [Migration] = [
        Migration(version: 1, statements: [
            """
            CREATE TABLE users (
                name                 TEXT PRIMARY KEY,
                signing_key          BLOB NOT NULL,
                agreement_key        BLOB NOT NULL,
                authority_parameters BLOB NOT NULL,
                created_at           INTEGER NOT NULL
            ) WITHOUT ROWID
            """,
            // No foreign key on user: the server hands out nonces for unknown names too, so that
            // asking for one does not reveal which accounts exist.
            """
            CREATE TABLE login_challenges (
                nonce      BLOB PRIMARY KEY,
                user       TEXT NOT NULL,
                expires_at INTEGER NOT NULL
            ) WITHOUT ROWID
            """,
            """
            CREATE TABLE sessions (
                token_hash BLOB PRIMARY KEY,
                user       TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
                expires_at INTEGER NOT NULL
            ) WITHOUT ROWID
            """,
            // refs counts file_chunks rows naming the chunk; unreferenced_since is set whenever refs
            // is 0 (on first record, or when the last file using it goes), and starts the grace period.
            """
            CREATE TABLE chunks (
                tag                BLOB PRIMARY KEY,
                size               INTEGER NOT NULL CHECK (size >= 0),
                refs               INTEGER NOT NULL DEFAULT 0 CHECK (refs >= 0),
                unreferenced_since INTEGER,
                CHECK ((refs = 0) = (unreferenced_since IS NOT NULL))
            ) WITHOUT ROWID
            """,
            "CREATE INDEX chunks_garbage ON chunks(unreferenced_since) WHERE refs = 0",
            """
            CREATE TABLE files (
                tag      BLOB PRIMARY KEY,
                manifest BLOB NOT NULL
            ) WITHOUT ROWID
            """,
            // The foreign key to chunks means a referenced chunk can never be deleted, even by a
            // reference-counting bug: garbage collection would fail instead of losing data.
            """
            CREATE TABLE file_chunks (
                file_tag  BLOB NOT NULL REFERENCES files(tag),
                position  INTEGER NOT NULL,
                chunk_tag BLOB NOT NULL REFERENCES chunks(tag),
                PRIMARY KEY (file_tag, position)
            ) WITHOUT ROWID
            """,
            "CREATE INDEX file_chunks_by_chunk ON file_chunks(chunk_tag)",
            """
            CREATE TABLE entries (
                owner      TEXT NOT NULL REFERENCES users(name),
                name       TEXT NOT NULL,
                file_tag   BLOB NOT NULL REFERENCES files(tag),
                attributes TEXT NOT NULL,
                abe_key    BLOB NOT NULL,
                owner_key  BLOB NOT NULL,
                media_type TEXT NOT NULL,
                size       INTEGER NOT NULL CHECK (size >= 0),
                created_at INTEGER NOT NULL,
                PRIMARY KEY (owner, name)
            ) WITHOUT ROWID
            """,
            "CREATE INDEX entries_by_file ON entries(file_tag)",
            """
            CREATE TABLE grants (
                owner      TEXT NOT NULL REFERENCES users(name),
                grantee    TEXT NOT NULL REFERENCES users(name),
                policy     TEXT NOT NULL,
                sealed_key BLOB NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (owner, grantee)
            ) WITHOUT ROWID
            """,
            "CREATE INDEX grants_by_grantee ON grants(grantee)",
            // chunks keeps the announced order (packed tag|size records); the distinct tags, with
            // what is missing and received, are rows of upload_session_tags so that garbage
            // collection can ask in SQL whether a live session names a chunk.
            """
            CREATE TABLE upload_sessions (
                id               TEXT PRIMARY KEY,
                user             TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
                file_tag         BLOB NOT NULL,
                chunks           BLOB NOT NULL,
                challenge        TEXT,
                ownership_proven INTEGER NOT NULL,
                expires_at       INTEGER NOT NULL
            ) WITHOUT ROWID
            """,
            """
            CREATE TABLE upload_session_tags (
                session  TEXT NOT NULL REFERENCES upload_sessions(id) ON DELETE CASCADE,
                tag      BLOB NOT NULL,
                missing  INTEGER NOT NULL,
                received INTEGER NOT NULL,
                PRIMARY KEY (session, tag)
            ) WITHOUT ROWID
            """,
            "CREATE INDEX upload_session_tags_by_tag ON upload_session_tags(tag)",
        ]),
        // An upload session announces several files (a client sends a folder in a few batches
        // instead of one session per file): each file's tag and packed chunk list move to a row of
        // upload_session_files; sessions begun before keep their single file as position 0.
        // upload_sessions.challenge now holds a BLOB (ChallengeCoding); schema-1 JSON TEXT is still read.
        Migration(version: 2, statements: [
            """
            CREATE TABLE upload_session_files (
                session  TEXT NOT NULL REFERENCES upload_sessions(id) ON DELETE CASCADE,
                position INTEGER NOT NULL,
                file_tag BLOB NOT NULL,
                chunks   BLOB NOT NULL,
                PRIMARY KEY (session, position)
            ) WITHOUT ROWID
            """,
            "INSERT INTO upload_session_files (session, position, file_tag, chunks) SELECT id, 0, file_tag, chunks FROM upload_sessions",
            "ALTER TABLE upload_sessions DROP COLUMN file_tag",
            "ALTER TABLE upload_sessions DROP COLUMN chunks",
        ]),
        // Quotas and pruning. entries.charged is what the entry counts against its owner's quota:
        // its file's stored bytes (every chunk position's ciphertext and the sealed manifest), the
        // same for every entry of a shared file. Expiry indexes let each insert prune expired rows.
        Migration(version: 3, statements: [
            "ALTER TABLE entries ADD COLUMN charged INTEGER NOT NULL DEFAULT 0",
            """
            UPDATE entries SET charged = (SELECT length(manifest) FROM files WHERE files.tag = entries.file_tag)
                + (SELECT coalesce(sum(chunks.size), 0) FROM file_chunks JOIN chunks ON chunks.tag = file_chunks.chunk_tag
                   WHERE file_chunks.file_tag = entries.file_tag)
            """,
            "CREATE INDEX login_challenges_by_expiry ON login_challenges(expires_at)",
            "CREATE INDEX sessions_by_expiry ON sessions(expires_at)",
            "CREATE INDEX upload_sessions_by_user ON upload_sessions(user, expires_at)",
        ]),
        // Garbage collection decided in the database (doomed_chunks: tags whose blobs a collector
        // is deleting; recording them is refused meanwhile), and chunks whose blob was found
        // missing or corrupt (lost: not offered as stored, so the next upload of that content
        // sends the chunk again and clears the flag).
        Migration(version: 4, statements: [
            """
            CREATE TABLE doomed_chunks (
                tag   BLOB PRIMARY KEY,
                since INTEGER NOT NULL
            ) WITHOUT ROWID
            """,
            "ALTER TABLE chunks ADD COLUMN lost INTEGER NOT NULL DEFAULT 0",
        ]),
        // Entries carry their owner's seal (empty for entries committed before seals, which
        // readers refuse); one row holds the store's secret, made on first use.
        Migration(version: 5, statements: [
            "ALTER TABLE entries ADD COLUMN owner_seal BLOB NOT NULL DEFAULT x''",
            """
            CREATE TABLE server_secret (
                id     INTEGER PRIMARY KEY CHECK (id = 1),
                secret BLOB NOT NULL
            )
            """,
            // How many uploads sent each chunk's data (a dedup threshold counts them).
            "ALTER TABLE chunks ADD COLUMN uploads INTEGER NOT NULL DEFAULT 1",
        ]),
    ]
}
