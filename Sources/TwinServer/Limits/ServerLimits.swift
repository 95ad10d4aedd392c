import Foundation
import KPABE
import TwinProtocol

/// Every bound the server puts on what one client may send, hold or ask for, in one place, so that a
/// hostile or broken client cannot take the service from others. `twin serve` sets each from an
/// option of the same name (README, "Limits"); the defaults are what one modest machine serves.
public struct ServerLimits: Sendable, Equatable {
    /// A token bucket: `burst` requests at once, refilled at `perSecond`.
    public struct Rate: Sendable, Equatable {
        public var perSecond: Double
        public var burst: Double
        public init(perSecond: Double, burst: Double) {
            self.perSecond = perSecond
            self.burst = burst
        }
    }

    // MARK: Bodies, read with these bounds (never collected whole first)

    /// JSON bodies of accounts, logins and grants.
    public var smallBody = 64 << 10
    /// A begin's body: the tag lists of a whole batch (65 hex digits and a size per chunk).
    public var beginBody = 8 << 20
    /// A commit's body: sealed manifests (49 bytes per chunk, base64) and wrapped keys of a batch.
    public var commitBody = 24 << 20

    // MARK: Lists and strings inside bodies

    /// Files one upload session announces, and so entries one commit adds.
    public var filesPerUpload = BeginUploadRequest.maximumFiles
    /// Chunks one upload session announces, over all its files (65,536 average chunks are 8 GiB).
    public var chunksPerUpload = 1 << 16
    /// Attributes on one entry.
    public var attributesPerEntry = 64
    /// An entry's declared plaintext size (1 TiB): sums over entries stay far from overflow.
    public var entrySize = 1 << 40
    /// An entry's media type, in bytes.
    public var mediaTypeLength = 255
    /// A grant's policy text, in bytes (the parser also bounds depth and leaves while it reads).
    public var policyLength = Policy.maximumTextLength
    /// A grant's sealed key (an HPKE-sealed KP-ABE key: its size follows the policy's leaves).
    public var sealedKeyLength = 2 << 20

    // MARK: What a user holds at once

    /// Upload sessions one user has open.
    public var uploadSessionsPerUser = 64
    /// Chunk bundles being received at once, server-wide: each is held in memory while checked.
    public var bundlesInFlight = 16
    /// Bytes of stored files one user's entries may name (see `Quota`); nil for no quota.
    public var quotaBytes: Int? = 1 << 40

    // MARK: Connections

    public var maximumConnections = 1024
    /// A connection with no request for this long is closed (slow or silent clients).
    public var idleTimeout: Duration = .seconds(60)

    // MARK: Rates (429 with Retry-After past them)

    /// Per client address, on the routes that need no login: registration, user lookup, login.
    public var anonymous = Rate(perSecond: 20, burst: 200)
    /// Per user: upload sessions begun.
    public var begins = Rate(perSecond: 20, burst: 200)
    /// Per user: proofs of ownership sent.
    public var proofs = Rate(perSecond: 20, burst: 200)
    /// Per user: ownership challenges drawn. A prover sees which leaves a challenge asks for before
    /// answering, so one holding most of a file could begin session after session until a draw
    /// misses what it lacks; this bounds such re-rolls. An honest client draws one per batch.
    public var challenges = Rate(perSecond: 0.5, burst: 200)
    /// Per user: proofs that failed. Each failure spends one; with none left the user can neither
    /// prove nor begin a session that would draw a fresh challenge.
    public var failedProofs = Rate(perSecond: 1.0 / 60, burst: 10)
    /// Key-server evaluations per user: a burst that covers a few thousand photos, then 20,000 an
    /// hour (an image costs one per metadata chunk and one per 32 payload chunks).
    public var keyEvaluations = Rate(perSecond: 20_000.0 / 3600, burst: 20_000)
    /// A `POST /v1/keys` body: 256 elements of up to 512 bytes, in base64 JSON.
    public var keyEvaluationBody = 1 << 20

    public init() {}
}
