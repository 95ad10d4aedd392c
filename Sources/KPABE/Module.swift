/// # KPABE
///
/// Key-policy attribute-based encryption: the large-universe construction of Goyal, Pandey, Sahai and
/// Waters (CCS 2006, random-oracle variant) in the Type-3 setting of BLS12-381. It owns access
/// policies (threshold trees parsed from text), the authority (setup, key generation), hybrid
/// encryption of payloads under attribute sets, decryption by one multi-pairing, and the strict
/// binary encodings of all of them. TwinStore uses it to wrap convergent file keys for friends:
/// `wrap(payload, attributes)` / `unwrap(ciphertext, key)`.
public enum KPABE {}
