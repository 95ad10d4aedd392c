/// # TwinClient
///
/// Everything a TwinStore user's machine does: the keyring in `$TWIN_HOME`, the HTTP client, the
/// deduplicating upload (encrypt locally, send tags, upload what is missing, prove ownership of the
/// rest, commit with wrapped keys), verified downloads, and sharing by KP-ABE grants sealed with
/// HPKE. Keys and plaintext never leave this module except as ciphertext.
public enum TwinClientModule {}
