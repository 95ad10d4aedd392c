/// The OpenAPI 3 description served at `/openapi.yaml`. Tests check that every documented operation
/// is routed and every route is documented.
enum OpenAPIDocument {
    static let yaml = """
openapi: 3.0.3
info:
  title: TwinStore
  version: "1"
  description: >
    Encrypted, deduplicating image store. The server stores ciphertext only. Every error is a JSON
    body {"error": {"code", "message"}} with a stable code. Binary JSON fields are base64, tags are
    64 hex digits, dates ISO 8601. Authenticated operations take "Authorization: Bearer TOKEN".
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
            code: {type: string, enum: [bad_request, unauthenticated, access_denied, not_found, conflict, tag_mismatch, unexpected_chunk, proof_required, proof_invalid, incomplete_upload, session_expired, payload_too_large, corrupt_blob, internal_error]}
            message: {type: string}
    Tag: {type: string, pattern: "^[0-9a-f]{64}$"}
    TagList: {type: string, pattern: "^([0-9a-f]{64})*$", description: "Tags run together, 64 hex digits each, in order"}
    Chunk:
      type: object
      required: [tag, size]
      properties: {tag: {$ref: "#/components/schemas/Tag"}, size: {type: integer}}
    User:
      type: object
      required: [name, signingKey, agreementKey, authorityParameters]
      properties: {name: {type: string}, signingKey: {type: string, format: byte}, agreementKey: {type: string, format: byte}, authorityParameters: {type: string, format: byte}, signature: {type: string, format: byte}}
    Entry:
      type: object
      required: [owner, name, fileTag, attributes, attributeWrappedKey, mediaType, size, createdAt]
      properties:
        owner: {type: string}
        name: {type: string}
        fileTag: {$ref: "#/components/schemas/Tag"}
        attributes: {type: array, items: {type: string}}
        attributeWrappedKey: {type: string, format: byte}
        ownerWrappedKey: {type: string, format: byte}
        sealedManifest: {type: string, format: byte}
        chunks: {type: array, items: {$ref: "#/components/schemas/Chunk"}}
        mediaType: {type: string}
        size: {type: integer}
        createdAt: {type: string, format: date-time}
    Entries:
      type: object
      required: [entries]
      properties: {entries: {type: array, items: {$ref: "#/components/schemas/Entry"}}}
    Grant:
      type: object
      required: [owner, grantee, policy, sealedKey, createdAt]
      properties: {owner: {type: string}, grantee: {type: string}, policy: {type: string}, sealedKey: {type: string, format: byte}, createdAt: {type: string, format: date-time}}
  responses:
    Error:
      description: Failure, with a stable code.
      content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
paths:
  /healthz:
    get: {summary: Liveness, responses: {"200": {description: OK}}}
  /metrics:
    get: {summary: Prometheus metrics, responses: {"200": {description: Text exposition format}}}
  /openapi.yaml:
    get: {summary: This document, responses: {"200": {description: OpenAPI 3}}}
  /v1/users:
    post:
      summary: Register a user (signature over the registration message by the signing key)
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/User"}}}}
      responses: {"201": {description: Registered}, "400": {$ref: "#/components/responses/Error"}, "409": {$ref: "#/components/responses/Error"}}
  /v1/users/{name}:
    get:
      summary: A user's public keys
      parameters: [{name: name, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: Public keys, content: {application/json: {schema: {$ref: "#/components/schemas/User"}}}}, "404": {$ref: "#/components/responses/Error"}}
  /v1/auth/challenge:
    post:
      summary: A single-use login nonce
      requestBody: {required: true, content: {application/json: {schema: {type: object, required: [user], properties: {user: {type: string}}}}}}
      responses: {"200": {description: Nonce, content: {application/json: {schema: {type: object, properties: {nonce: {type: string, format: byte}, expiresAt: {type: string, format: date-time}}}}}}}
  /v1/auth/token:
    post:
      summary: Exchange a signed nonce for a short-lived bearer token
      requestBody: {required: true, content: {application/json: {schema: {type: object, required: [user, nonce, signature], properties: {user: {type: string}, nonce: {type: string, format: byte}, signature: {type: string, format: byte}}}}}}
      responses: {"200": {description: Token, content: {application/json: {schema: {type: object, properties: {token: {type: string}, expiresAt: {type: string, format: date-time}}}}}}, "401": {$ref: "#/components/responses/Error"}}
  /v1/uploads:
    post:
      summary: Announce 1 to 1024 images by tags; learn which chunks are missing and what to prove (each claimed file gets its own leaves; a leaf's chunk counts positions in the files' chunk lists, concatenated in order)
      security: [{bearer: []}]
      requestBody: {required: true, content: {application/json: {schema: {type: object, required: [files], properties: {files: {type: array, minItems: 1, maxItems: 1024, items: {type: object, required: [fileTag, chunkTags, chunkSizes], properties: {fileTag: {$ref: "#/components/schemas/Tag"}, chunkTags: {$ref: "#/components/schemas/TagList"}, chunkSizes: {type: array, items: {type: integer}, description: "Ciphertext size of each chunk, in the order of chunkTags"}}}}}}}}}
      responses:
        "201":
          description: Upload session
          content: {application/json: {schema: {type: object, properties: {id: {type: string}, missing: {$ref: "#/components/schemas/TagList"}, fileExists: {type: array, items: {type: boolean}}, expiresAt: {type: string, format: date-time}, challenge: {type: object, required: [id, chunks, leaves, expiresAt], properties: {id: {$ref: "#/components/schemas/Tag"}, expiresAt: {type: string, format: date-time}, chunks: {type: array, items: {type: integer}, description: "Chunk position of each challenged leaf"}, leaves: {type: array, items: {type: integer}, description: "Leaf index of each challenged leaf, in the order of chunks"}}}}}}}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
  /v1/uploads/{id}/chunks/{tag}:
    put:
      summary: Upload one missing chunk ciphertext; rejected unless it hashes to its tag
      security: [{bearer: []}]
      parameters: [{name: id, in: path, required: true, schema: {type: string}}, {name: tag, in: path, required: true, schema: {$ref: "#/components/schemas/Tag"}}]
      requestBody: {required: true, content: {application/octet-stream: {schema: {type: string, format: binary}}}}
      responses: {"204": {description: Stored}, "409": {$ref: "#/components/responses/Error"}, "422": {$ref: "#/components/responses/Error"}}
  /v1/uploads/{id}/chunks:
    post:
      summary: Upload several missing chunk ciphertexts at once, as records of tag (32 bytes), length (UInt32, big-endian) and ciphertext; all are checked before any is stored
      security: [{bearer: []}]
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      requestBody: {required: true, content: {application/octet-stream: {schema: {type: string, format: binary}}}}
      responses: {"204": {description: Stored}, "400": {$ref: "#/components/responses/Error"}, "409": {$ref: "#/components/responses/Error"}, "413": {$ref: "#/components/responses/Error"}, "422": {$ref: "#/components/responses/Error"}}
  /v1/uploads/{id}/proof:
    post:
      summary: Answer the proof-of-ownership challenge (binary proof encoding, FORMAT.md); one attempt
      security: [{bearer: []}]
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      requestBody: {required: true, content: {application/octet-stream: {schema: {type: string, format: binary}}}}
      responses: {"204": {description: Proven}, "403": {$ref: "#/components/responses/Error"}, "409": {$ref: "#/components/responses/Error"}}
  /v1/uploads/{id}/commit:
    post:
      summary: Add one entry per announced file, in order, atomically (all or none)
      security: [{bearer: []}]
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      requestBody: {required: true, content: {application/json: {schema: {type: object, required: [entries], properties: {entries: {type: array, items: {type: object, required: [name, attributes, attributeWrappedKey, ownerWrappedKey, sealedManifest, mediaType, size], properties: {name: {type: string}, attributes: {type: array, items: {type: string}}, attributeWrappedKey: {type: string, format: byte}, ownerWrappedKey: {type: string, format: byte}, sealedManifest: {type: string, format: byte}, mediaType: {type: string}, size: {type: integer}}}}}}}}}
      responses: {"201": {description: Entries, content: {application/json: {schema: {$ref: "#/components/schemas/Entries"}}}}, "403": {$ref: "#/components/responses/Error"}, "409": {$ref: "#/components/responses/Error"}, "422": {$ref: "#/components/responses/Error"}}
  /v1/files:
    get:
      summary: The caller's entries
      security: [{bearer: []}]
      responses: {"200": {description: Entries, content: {application/json: {schema: {$ref: "#/components/schemas/Entries"}}}}}
  /v1/shared:
    get:
      summary: Entries shared with the caller by grants whose policy they satisfy
      security: [{bearer: []}]
      responses: {"200": {description: Entries, content: {application/json: {schema: {$ref: "#/components/schemas/Entries"}}}}}
  /v1/files/{owner}:
    get:
      summary: An owner's entries the caller may read
      security: [{bearer: []}]
      parameters: [{name: owner, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: Entries, content: {application/json: {schema: {$ref: "#/components/schemas/Entries"}}}}, "403": {$ref: "#/components/responses/Error"}}
  /v1/files/{owner}/{name}:
    get:
      summary: One entry with its sealed manifest and chunk tags
      security: [{bearer: []}]
      parameters: [{name: owner, in: path, required: true, schema: {type: string}}, {name: name, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: Entry, content: {application/json: {schema: {$ref: "#/components/schemas/Entry"}}}}, "403": {$ref: "#/components/responses/Error"}, "404": {$ref: "#/components/responses/Error"}}
    delete:
      summary: Delete one of the caller's entries (owner must be the caller; blobs are collected after a grace period)
      security: [{bearer: []}]
      parameters: [{name: owner, in: path, required: true, schema: {type: string}}, {name: name, in: path, required: true, schema: {type: string}}]
      responses: {"204": {description: Deleted}, "403": {$ref: "#/components/responses/Error"}, "404": {$ref: "#/components/responses/Error"}}
  /v1/files/{owner}/{name}/chunks/{tag}:
    get:
      summary: One chunk ciphertext of a readable entry
      security: [{bearer: []}]
      parameters: [{name: owner, in: path, required: true, schema: {type: string}}, {name: name, in: path, required: true, schema: {type: string}}, {name: tag, in: path, required: true, schema: {$ref: "#/components/schemas/Tag"}}]
      responses: {"200": {description: Ciphertext, content: {application/octet-stream: {schema: {type: string, format: binary}}}}, "403": {$ref: "#/components/responses/Error"}}
  /v1/grants:
    get:
      summary: Grants the caller received
      security: [{bearer: []}]
      responses: {"200": {description: Grants, content: {application/json: {schema: {type: object, properties: {grants: {type: array, items: {$ref: "#/components/schemas/Grant"}}}}}}}}
  /v1/grants/{grantee}:
    put:
      summary: Grant a KP-ABE key (HPKE-sealed to the grantee) for a policy
      security: [{bearer: []}]
      parameters: [{name: grantee, in: path, required: true, schema: {type: string}}]
      requestBody: {required: true, content: {application/json: {schema: {type: object, required: [policy, sealedKey], properties: {policy: {type: string}, sealedKey: {type: string, format: byte}}}}}}
      responses: {"201": {description: Granted, content: {application/json: {schema: {$ref: "#/components/schemas/Grant"}}}}, "400": {$ref: "#/components/responses/Error"}, "404": {$ref: "#/components/responses/Error"}}
    delete:
      summary: Revoke a grant; the server stops serving the grantee
      security: [{bearer: []}]
      parameters: [{name: grantee, in: path, required: true, schema: {type: string}}]
      responses: {"204": {description: Revoked}, "404": {$ref: "#/components/responses/Error"}}
  /v1/stats:
    get:
      summary: Server-wide totals
      security: [{bearer: []}]
      responses: {"200": {description: Totals, content: {application/json: {schema: {type: object, properties: {users: {type: integer}, files: {type: integer}, entries: {type: integer}, chunks: {type: integer}, logicalBytes: {type: integer}, storedBytes: {type: integer}, dedupRatio: {type: number}}}}}}}
"""
}
