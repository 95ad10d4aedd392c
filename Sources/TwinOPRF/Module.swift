/// # TwinOPRF
///
/// The oblivious PRF behind server-aided convergent keys (DupLESS): a key server evaluates a
/// function of each key unit's message under a secret key without seeing the message, and the
/// client checks every answer against the server's pinned public key. It owns the construction —
/// RSA blind signatures (RFC 9474, RSABSSA-SHA384-PSSZERO-Deterministic, whose signature is
/// unique per message) with the output `SHA-256("twin.oprf-output.v1" ‖ key id ‖ signature)` —
/// and the key file format; transport and rate limits belong to the server and client.
///
/// Why RSA and not the P-384 VOPRF of RFC 9497: measured with `twin bench oprf` on this project's
/// host, an RSA-2048 evaluation costs the server 0.66 ms and the client 0.72 ms, a P-384 VOPRF
/// evaluation 3.3 ms and 5.0 ms (swift-crypto evaluates and proves one element at a time).
public enum TwinOPRF {}
