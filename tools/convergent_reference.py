#!/usr/bin/env python3
"""Independent reference implementation of TwinStore's convergent format (FORMAT.md), written in
Python with the `cryptography` package, that produces the known-answer vectors the Swift tests check:
Tests/ConvergentTests/Resources/convergent_vectors.json.

It shares no code with the Swift implementation; it follows FORMAT.md. Usage:
    python3 tools/convergent_reference.py > Tests/ConvergentTests/Resources/convergent_vectors.json
"""
import hashlib, json, struct, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

LEAF = 4096
MIN, AVG, MAX = 32 * 1024, 64 * 1024, 256 * 1024


def sha256(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


def hkdf(ikm, info, n=32):
    return HKDF(algorithm=hashes.SHA256(), length=n, salt=None, info=info).derive(ikm)


def expand(prk, info, n):
    return HKDFExpand(algorithm=hashes.SHA256(), length=n, info=info).derive(prk)


def content_hash(m):
    return sha256(b"twin.chunk.v1", m)


def chunk_key(h):
    return hkdf(h, b"twin.chunk-key.v1")


def seal(key, label, plaintext, aad=b""):
    return AESGCM(key).encrypt(expand(key, label, 12), plaintext, aad or None)


def merkle_root(c):
    leaves = [sha256(b"\x00", c[i:i + LEAF]) for i in range(0, max(len(c), 1), LEAF)]
    while len(leaves) > 1:
        nxt = []
        for i in range(0, len(leaves), 2):
            nxt.append(sha256(b"\x01", leaves[i], leaves[i + 1]) if i + 1 < len(leaves) else leaves[i])
        leaves = nxt
    return leaves[0]


GEAR = [int.from_bytes(sha256(b"twin.gear.v1", bytes([i]))[:8], "big") for i in range(256)]
M64 = (1 << 64) - 1


def mask(bits):
    return (M64 << (64 - bits)) & M64


def fastcdc_cut(data, start, end):
    """Length of the chunk at data[start:end] (end = forced boundary or stream end)."""
    n = end - start
    if n <= MIN:
        return n
    stop, normal = min(n, MAX), min(n, AVG)
    bits = AVG.bit_length() - 1
    strict, loose = mask(bits + 2), mask(bits - 2)
    h = 0
    for i in range(MIN, stop):
        h = ((h << 1) + GEAR[data[start + i]]) & M64
        if h & (strict if i < normal else loose) == 0:
            return i + 1
    return stop


def stream(seed, n):
    out, i = bytearray(), 0
    while len(out) < n:
        out += sha256(b"twin.test.stream", seed.encode(), struct.pack(">Q", i))
        i += 1
    return bytes(out[:n])


def encode_unknown(data, media="application/octet-stream"):
    chunks, pos = [], 0
    while pos < len(data):
        n = fastcdc_cut(data, pos, len(data))
        chunks.append(data[pos:pos + n])
        pos += n
    entries = []
    for m in chunks:
        k = chunk_key(content_hash(m))
        c = seal(k, b"twin.chunk-nonce.v1", m)
        entries.append((merkle_root(c), k, len(m)))
    manifest = b"TWMF" + bytes([1]) + struct.pack(">I", len(media)) + media.encode()
    manifest += struct.pack(">QI", len(data), len(entries))
    for t, k, n in entries:
        manifest += t + k + struct.pack(">I", n)
    file_hash = sha256(b"twin.file.v1", struct.pack(">Q", len(data)), *[k for _, k, _ in entries])
    km = hkdf(file_hash, b"twin.file-key.v1")
    cm = seal(km, b"twin.manifest-nonce.v1", manifest, b"twin.manifest.v1")
    return {"seed": None, "length": len(data), "chunk_lengths": [n for _, _, n in entries],
            "chunk_tags": [t.hex() for t, _, _ in entries], "manifest": manifest.hex(),
            "file_key": km.hex(), "sealed_manifest_sha256": sha256(cm).hex(), "file_tag": merkle_root(cm).hex()}


def main():
    chunk_vectors = []
    for name, n in [("empty", 0), ("three", 3), ("one-full-leaf", 4096 - 16), ("two-leaves", 4097 - 16),
                    ("five-leaves", 4 * 4096 + 100)]:
        m = stream(name, n)
        h = content_hash(m)
        k = chunk_key(h)
        c = seal(k, b"twin.chunk-nonce.v1", m)
        chunk_vectors.append({"name": name, "plaintext_sha256": sha256(m).hex(), "plaintext_length": len(m),
                              "seed": name, "content_hash": h.hex(), "key": k.hex(),
                              "nonce": expand(k, b"twin.chunk-nonce.v1", 12).hex(),
                              "ciphertext_sha256": sha256(c).hex(), "ciphertext_length": len(c),
                              "tag": merkle_root(c).hex()})
    files = []
    for seed, n in [("file-small", 1000), ("file-mid", 300_000), ("file-large", 1_500_000)]:
        v = encode_unknown(stream(seed, n))
        v["seed"] = seed
        files.append(v)
    json.dump({"source": "tools/convergent_reference.py (Python, cryptography %s)" % __import__("cryptography").__version__,
               "stream": "bytes = SHA-256('twin.test.stream' || seed || u64be(i)) for i = 0, 1, … truncated to length",
               "chunks": chunk_vectors, "files": files}, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
