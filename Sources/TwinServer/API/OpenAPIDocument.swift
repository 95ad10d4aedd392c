import TwinProtocol

/// The OpenAPI 3 description served at `/openapi.yaml`: every route with every status code its
/// handler can answer, and the constraints the server enforces on what it reads (sizes, patterns,
/// counts), so a request valid by this document is refused only for what a schema cannot say
/// (signatures, proofs, chunk lists that must agree: 401, 403, 409 or 422). Tests check that every
/// documented operation is routed and every route documented; CI runs schemathesis against it.
enum OpenAPIDocument {
    /// A `responses:` map: `success` with its description and schema, then each error code's shared
    /// response (`components.responses`).
    private static func responses(_ success: Int, _ description: String, schema: String? = nil, content: String = "application/json",
                                  errors: [Int]) -> String {
        let body = schema.map { ", content: {\(content): {schema: \($0)}}" } ?? ""
        let failures = errors.map { "\"\($0)\": {$ref: \"#/components/responses/E\($0)\"}" }
        return "responses: {\"\(success)\": {description: \(description)\(body)}, " + failures.joined(separator: ", ") + "}"
    }

    private static let secured = "security: [{bearer: []}]"
    private static func path(_ name: String, _ schema: String = "{type: string, minLength: 1}") -> String {
        "{name: \(name), in: path, required: true, schema: \(schema)}"
    }
    private static let userName = #"{type: string, pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"}"#
    private static let entryName = #"{type: string, minLength: 1, maxLength: 1024, pattern: "^[^./\u0000-\u001f\u007f-\u009f][^/\u0000-\u001f\u007f-\u009f]*(/[^./\u0000-\u001f\u007f-\u009f][^/\u0000-\u001f\u007f-\u009f]*)*$"}"#
    /// A listing's paging parameters (`PageRequest`).
    private static let paging = #"{name: prefix, in: query, schema: {type: string, maxLength: 1024}}, {name: after, in: query, schema: {type: string, maxLength: 1024}}, {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000}}"#
    private static let tag = "{$ref: \"#/components/schemas/Tag\"}"
    private static let binary = "{type: string, format: binary}"
    private static let maximumChunk = 16 << 20 + 28

    static let yaml = """
openapi: 3.0.3
info:
  title: TwinStore
  version: "1"
  description: >
    Encrypted, deduplicating image store. The server stores ciphertext only. Every error is a JSON
    body {"error": {"code", "message"}} with a stable code; 429 and 503 carry Retry-After. Binary
    JSON fields are base64, tags are 64 hex digits, dates ISO 8601. Authenticated operations take
    "Authorization: Bearer TOKEN". A method a path does not serve answers 405 with Allow.
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
  schemas:
    Error:
      type: object
      required: [error]
      properties:
        error:
          type: object
          required: [code, message]
          properties:
            code: {type: string, enum: [\(ErrorCode.allCases.map(\.rawValue).joined(separator: ", "))]}
            message: {type: string}
    Tag: {type: string, pattern: "^[0-9a-f]{64}$"}
    TagList: {type: string, pattern: "^([0-9a-f]{64})*$", description: "Tags run together, 64 hex digits each, in order"}
    Chunk:
      type: object
      required: [tag, size]
      properties: {tag: \(tag), size: {type: integer}}
    User:
      type: object
      required: [name, signingKey, agreementKey, authorityParameters]
      properties: {name: {type: string}, signingKey: {type: string, format: byte}, agreementKey: {type: string, format: byte}, authorityParameters: {type: string, format: byte}}
    Registration:
      type: object
      required: [name, signingKey, agreementKey, authorityParameters, signature]
      properties:
        name: \(userName)
        signingKey: {type: string, format: byte, description: "Raw Ed25519 public key (32 bytes; other sizes answer 422)"}
        agreementKey: {type: string, format: byte, description: "Raw X25519 public key (32 bytes; other sizes answer 422)"}
        authorityParameters: {type: string, format: byte, description: "KP-ABE public parameters (KPABE encoding)"}
        signature: {type: string, format: byte, description: "Ed25519 signature over the registration message"}
    Entry:
      type: object
      required: [owner, name, fileTag, attributes, attributeWrappedKey, mediaType, size, createdAt, ownerSeal]
      properties:
        owner: {type: string}
        name: {type: string}
        fileTag: \(tag)
        attributes: {type: array, items: {type: string}}
        attributeWrappedKey: {type: string, format: byte}
        ownerWrappedKey: {type: string, format: byte}
        sealedManifest: {type: string, format: byte}
        chunks: {type: array, items: {$ref: "#/components/schemas/Chunk"}}
        mediaType: {type: string}
        size: {type: integer}
        createdAt: {type: string, format: date-time}
        ownerSeal: {type: string, format: byte}
    Entries:
      type: object
      required: [entries]
      properties: {entries: {type: array, items: {$ref: "#/components/schemas/Entry"}}, next: {type: string, description: "the cursor of the next page, when there may be one"}}
    Grant:
      type: object
      required: [owner, grantee, policy, sealedKey, createdAt]
      properties: {owner: {type: string}, grantee: {type: string}, policy: {type: string}, sealedKey: {type: string, format: byte}, createdAt: {type: string, format: date-time}}
  responses:
    E400: {description: "Malformed request: body, path or field out of its schema", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    E401: {description: "No valid bearer token, or a signature that does not verify", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    E403: {description: "Not allowed: access denied, proof required or rejected", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    E404: {description: "No such user, entry, grant or upload", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    E409: {description: "Conflicts with what exists: name taken, chunk not requested, upload incomplete", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    E410: {description: "The upload session expired", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    E413: {description: "Body larger than this operation reads, or past the storage quota", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    E422: {description: "Well-formed but not acceptable: a tag or key that does not check out, lists that disagree", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    E429: {description: "A rate or count limit; see Retry-After", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    E500: {description: "Internal error, or stored data failed its integrity check", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    E503: {description: "At capacity, or data being collected; see Retry-After", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
paths:
  /healthz:
    get: {summary: Liveness, \(responses(200, "OK", schema: "{type: object}", errors: []))}
  /metrics:
    get: {summary: "Prometheus metrics (with an admin token, it is needed as a bearer token)", \(responses(200, "Text exposition format", schema: "{type: string}", content: "text/plain", errors: [401, 500]))}
  /openapi.yaml:
    get: {summary: This document, \(responses(200, "OpenAPI 3", schema: "{type: string}", content: "application/yaml", errors: []))}
  /dashboard:
    get:
      summary: The operator's dashboard (HTML), behind the admin token (?token= once, then a cookie; or a bearer token)
      parameters: [{name: token, in: query, schema: {type: string}}]
      responses: {"200": {description: Dashboard, content: {text/html: {schema: {type: string}}}}, "303": {description: Token exchanged for a cookie}, "401": {description: No or wrong admin token, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}, "404": {description: Dashboard off, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}}
  /dashboard.css:
    get:
      summary: The dashboard's stylesheet
      responses: {"200": {description: Stylesheet, content: {text/css: {schema: {type: string}}}}}
  /v1/server:
    get: {summary: "The server's identity, which registration and login signatures name (the same on every node of one store), and its key server", \(responses(200, "Identity", schema: "{type: object, required: [id], properties: {id: {type: string, format: byte}, keyServer: {type: object, required: [mode, publicKey, burst, perHour], properties: {mode: {type: string, enum: [embedded, separate]}, url: {type: string}, publicKey: {type: string, format: byte}, burst: {type: integer}, perHour: {type: integer}}}}}", errors: [429, 500]))}
  /v1/keys:
    post:
      summary: "Key server (with --oprf-key): RSA blind signatures (RFC 9474, RSABSSA-SHA384-PSSZERO-Deterministic) of 1 to 256 blinded key-unit messages, each the key's modulus size; rate-limited per user"
      \(secured)
      requestBody: {required: true, content: {application/json: {schema: {type: object, required: [elements], properties: {elements: {type: array, minItems: 1, maxItems: 256, items: {type: string, format: byte}}}}}}}
      \(responses(200, "One evaluation per element", schema: "{type: object, required: [keyID, evaluations], properties: {keyID: {type: string, format: byte}, evaluations: {type: array, items: {type: string, format: byte}}}}", errors: [400, 401, 413, 422, 429, 500]))
  /v1/users:
    post:
      summary: Register a user (signature over the registration message by the signing key)
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Registration"}}}}
      \(responses(201, "Registered", schema: "{$ref: \"#/components/schemas/User\"}", errors: [400, 401, 409, 413, 422, 429, 500]))
  /v1/users/{name}:
    get:
      summary: A user's public keys
      parameters: [\(path("name"))]
      \(responses(200, "Public keys", schema: "{$ref: \"#/components/schemas/User\"}", errors: [400, 404, 429, 500]))
  /v1/auth/challenge:
    post:
      summary: A single-use login nonce (for any valid user name, so accounts are not listed)
      requestBody: {required: true, content: {application/json: {schema: {type: object, required: [user], properties: {user: \(userName)}}}}}
      \(responses(200, "Nonce", schema: "{type: object, required: [nonce, expiresAt], properties: {nonce: {type: string, format: byte}, expiresAt: {type: string, format: date-time}}}", errors: [400, 413, 429, 500]))
  /v1/auth/token:
    post:
      summary: Exchange a signed nonce for a short-lived bearer token
      requestBody: {required: true, content: {application/json: {schema: {type: object, required: [user, nonce, signature], properties: {user: {type: string}, nonce: {type: string, format: byte}, signature: {type: string, format: byte}}}}}}
      \(responses(200, "Token", schema: "{type: object, required: [token, expiresAt], properties: {token: {type: string}, expiresAt: {type: string, format: date-time}}}", errors: [400, 401, 413, 429, 500]))
  /v1/uploads:
    post:
      summary: Announce 1 to 1024 images by tags; learn which chunks are missing and what to prove (each claimed file gets its own leaves, every claimed chunk at least one; a leaf's chunk counts positions in the files' chunk lists, concatenated in order)
      \(secured)
      requestBody: {required: true, content: {application/json: {schema: {type: object, required: [files], properties: {files: {type: array, minItems: 1, maxItems: \(BeginUploadRequest.maximumFiles), items: {type: object, required: [fileTag, chunkTags, chunkSizes], properties: {fileTag: \(tag), chunkTags: {$ref: "#/components/schemas/TagList"}, chunkSizes: {type: array, maxItems: \(ServerLimits().chunksPerUpload), items: {type: integer, minimum: 28, maximum: \(maximumChunk)}, description: "Ciphertext size of each chunk, in the order of chunkTags (as many)"}}}}}}}}}
      \(responses(201, "Upload session", schema: "{type: object, required: [id, missing, fileExists, expiresAt], properties: {id: {type: string}, missing: {$ref: \"#/components/schemas/TagList\"}, fileExists: {type: array, items: {type: boolean}}, expiresAt: {type: string, format: date-time}, challenge: {type: object, required: [id, chunks, leaves, expiresAt], properties: {id: \(tag), expiresAt: {type: string, format: date-time}, chunks: {type: array, items: {type: integer}, description: \"Chunk position of each challenged leaf\"}, leaves: {type: array, items: {type: integer}, description: \"Leaf index of each challenged leaf, in the order of chunks\"}}}}}", errors: [400, 401, 413, 422, 429, 500, 503]))
  /v1/uploads/{id}/chunks/{tag}:
    put:
      summary: Upload one missing chunk ciphertext; rejected unless it hashes to its tag
      \(secured)
      parameters: [\(path("id")), \(path("tag", tag))]
      requestBody: {required: true, content: {application/octet-stream: {schema: \(binary)}}}
      \(responses(204, "Stored", errors: [400, 401, 404, 409, 410, 413, 422, 500, 503]))
  /v1/uploads/{id}/chunks:
    post:
      summary: Upload several missing chunk ciphertexts at once, as records of tag (32 bytes), length (UInt32, big-endian) and ciphertext; all are checked before any is stored
      \(secured)
      parameters: [\(path("id"))]
      requestBody: {required: true, content: {application/octet-stream: {schema: \(binary)}}}
      \(responses(204, "Stored", errors: [400, 401, 404, 409, 410, 413, 422, 500, 503]))
  /v1/uploads/{id}/proof:
    post:
      summary: Answer the proof-of-ownership challenge (binary proof encoding, FORMAT.md); one attempt
      \(secured)
      parameters: [\(path("id"))]
      requestBody: {required: true, content: {application/octet-stream: {schema: \(binary)}}}
      \(responses(204, "Proven", errors: [400, 401, 403, 404, 409, 410, 413, 422, 429, 500]))
  /v1/uploads/{id}/commit:
    post:
      summary: Add one entry per announced file, in order, atomically (all or none)
      \(secured)
      parameters: [\(path("id"))]
      requestBody: {required: true, content: {application/json: {schema: {type: object, required: [entries], properties: {entries: {type: array, minItems: 1, maxItems: \(BeginUploadRequest.maximumFiles), items: {type: object, required: [name, attributes, attributeWrappedKey, ownerWrappedKey, sealedManifest, mediaType, size, ownerSeal], properties: {name: \(entryName), ownerSeal: {type: string, format: byte, description: "EntrySeal, 72 bytes"}, attributes: {type: array, maxItems: \(ServerLimits().attributesPerEntry), items: {type: string, minLength: 1, maxLength: \(AttributeVersion.maximumAttributeLength), pattern: "^[^#]*$"}}, attributeWrappedKey: {type: string, format: byte}, ownerWrappedKey: {type: string, format: byte, maxLength: 1368}, sealedManifest: {type: string, format: byte}, mediaType: {type: string, maxLength: \(ServerLimits().mediaTypeLength)}, size: {type: integer, minimum: 0, maximum: \(ServerLimits().entrySize)}, replaces: \(tag)}}}}}}}}
      \(responses(201, "Entries", schema: "{$ref: \"#/components/schemas/Entries\"}", errors: [400, 401, 403, 404, 409, 410, 413, 422, 500, 503]))
  /v1/files:
    get:
      summary: One page of the caller's entries, by name (prefix filter, cursor)
      \(secured)
      parameters: [\(paging)]
      \(responses(200, "Entries", schema: "{$ref: \"#/components/schemas/Entries\"}", errors: [400, 401, 500]))
  /v1/shared:
    get:
      summary: One page of the entries shared with the caller by grants whose policy they satisfy (by owner, then name; cursor owner/name)
      \(secured)
      parameters: [\(paging)]
      \(responses(200, "Entries", schema: "{$ref: \"#/components/schemas/Entries\"}", errors: [400, 401, 500]))
  /v1/files/{owner}:
    get:
      summary: One page of an owner's entries the caller may read (prefix filter, cursor)
      \(secured)
      parameters: [\(path("owner")), \(paging)]
      \(responses(200, "Entries", schema: "{$ref: \"#/components/schemas/Entries\"}", errors: [400, 401, 403, 500]))
    patch:
      summary: Re-key the caller's entries (after a revocation) with new attribute-wrapped keys and seals, all or none
      \(secured)
      parameters: [\(path("owner"))]
      requestBody: {required: true, content: {application/json: {schema: {type: object, required: [entries], properties: {entries: {type: array, minItems: 1, maxItems: \(EntryKeysRequest.maximumEntries), items: {type: object, required: [name, attributeWrappedKey, ownerSeal], properties: {name: \(entryName), attributeWrappedKey: {type: string, format: byte}, ownerSeal: {type: string, format: byte, description: "EntrySeal, 72 bytes, newer than the stored one"}}}}}}}}}
      \(responses(204, "Re-keyed", errors: [400, 401, 403, 404, 409, 413, 422, 500]))
  /v1/files/{owner}/{name}:
    get:
      summary: One entry with its sealed manifest and chunk tags
      \(secured)
      parameters: [\(path("owner")), \(path("name"))]
      \(responses(200, "Entry", schema: "{$ref: \"#/components/schemas/Entry\"}", errors: [400, 401, 403, 404, 500]))
    delete:
      summary: Delete one of the caller's entries (owner must be the caller; blobs are collected after a grace period)
      \(secured)
      parameters: [\(path("owner")), \(path("name"))]
      \(responses(204, "Deleted", errors: [400, 401, 403, 404, 500]))
  /v1/files/{owner}/{name}/chunks/{tag}:
    get:
      summary: One chunk ciphertext of a readable entry
      \(secured)
      parameters: [\(path("owner")), \(path("name")), \(path("tag", tag))]
      \(responses(200, "Ciphertext", schema: binary, content: "application/octet-stream", errors: [400, 401, 403, 404, 500]))
  /v1/grants:
    get:
      summary: Grants the caller received
      \(secured)
      \(responses(200, "Grants", schema: "{type: object, required: [grants], properties: {grants: {type: array, items: {$ref: \"#/components/schemas/Grant\"}}}}", errors: [401, 500]))
  /v1/issued-grants:
    get:
      summary: Grants the caller issued
      \(secured)
      \(responses(200, "Grants", schema: "{type: object, required: [grants], properties: {grants: {type: array, items: {$ref: \"#/components/schemas/Grant\"}}}}", errors: [401, 500]))
  /v1/grants/{grantee}:
    put:
      summary: Grant a KP-ABE key (HPKE-sealed to the grantee) for a policy
      \(secured)
      parameters: [\(path("grantee", userName))]
      requestBody: {required: true, content: {application/json: {schema: {type: object, required: [policy, sealedKey], properties: {policy: {type: string, minLength: 1, maxLength: \(ServerLimits().policyLength)}, sealedKey: {type: string, format: byte}}}}}}
      \(responses(201, "Granted", schema: "{$ref: \"#/components/schemas/Grant\"}", errors: [400, 401, 404, 413, 422, 500]))
    delete:
      summary: Revoke a grant; the server stops serving the grantee
      \(secured)
      parameters: [\(path("grantee"))]
      \(responses(204, "Revoked", errors: [400, 401, 404, 500]))
  /v1/stats:
    get:
      summary: Server-wide totals
      \(secured)
      \(responses(200, "Totals", schema: "{type: object, required: [users, files, entries, chunks, logicalBytes, storedBytes, dedupRatio], properties: {users: {type: integer}, files: {type: integer}, entries: {type: integer}, chunks: {type: integer}, logicalBytes: {type: integer}, storedBytes: {type: integer}, dedupRatio: {type: number}}}", errors: [401, 500]))
"""
}
