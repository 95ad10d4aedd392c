import Convergent

/// Why the upload state machine refused a step. Nothing changed when one is thrown, except where a
/// case says otherwise. `ErrorMiddleware` gives each its HTTP status and stable code.
enum UploadError: Error, Equatable, Sendable {
    /// The request itself is out of range (no files, too many chunks, a size out of bounds).
    case invalid(String)
    /// Well-formed but inconsistent: lists that disagree, a chunk stored with another size.
    case unprocessable(String)
    /// Bytes that do not hash to their tag, or a manifest and chunk list that do not make the file tag.
    case tagMismatch(String)
    /// A per-user rate is spent; `retryAfter` seconds until it refills.
    case rateLimited(String, retryAfter: Int)
    /// No such upload session for this user.
    case noSession(String)
    /// The session's deadline passed.
    case expired(String)
    /// A chunk the session did not ask for, or one sent twice in a request.
    case unexpectedChunk(Tag)
    /// The session has no outstanding challenge (it was taken by an earlier attempt).
    case noChallenge
    /// The challenge's deadline passed; it is spent.
    case challengeExpired
    /// The proof did not verify; the challenge is spent and the failure counted.
    case proofRejected(String)
    /// A commit before ownership of the held chunks was proven.
    case proofRequired
    /// A commit before every missing chunk arrived.
    case incomplete(outstanding: Int)
    /// A record changed between the caller's read and this write (a concurrent upload or re-key).
    case changed(String)
    /// Stored chunks were being collected when the session began: try again in a moment.
    case busy(String)
}
