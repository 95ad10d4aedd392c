/// # Convergent
///
/// The convergent-encryption core of TwinStore: it owns everything that turns an image into what the
/// server stores and back. It cuts a byte stream into chunks along the image's own structure (JPEG
/// segments, PNG chunks, RIFF chunks, ISO-BMFF boxes) with FastCDC inside large regions; derives each
/// chunk's key from its content (`k_i`, with a hook for a key server's OPRF); encrypts deterministically
/// with AES-256-GCM; names each ciphertext by a SHA-256 Merkle root (`t_i`); binds the chunk list into an
/// encrypted manifest keyed by the file key `K_M` and named by the file tag `T_M`; decrypts with every
/// check; and runs the Merkle proof of ownership that lets a client claim content the server already
/// holds. It knows nothing of HTTP, storage or users. The formats it writes are specified in `FORMAT.md`.
enum ConvergentModule {}
