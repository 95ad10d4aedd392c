#!/usr/bin/env python3
"""Independent reference implementation of TwinStore's convergent format (FORMAT.md), written in
Python with the `cryptography` package, that produces the known-answer vectors the Swift tests check:
Tests/ConvergentTests/Resources/convergent_vectors.json.

It shares no code with the Swift implementation; it follows FORMAT.md. Usage:
    python3 tools/convergent_reference.py > Tests/ConvergentTests/Resources/convergent_vectors.json
"""
import ctypes, ctypes.util, hashlib, json, struct, sys, zlib
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

LEAF = 4096
MIN, AVG, MAX, NORMALIZATION = 124 * 1024, 128 * 1024, 512 * 1024, 3


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


def chunk_nonce(k, encoding, r):
    """Synthetic nonce of a chunk: bound to the encoding and, when compressed, to the exact bytes
    sealed (a stored chunk's bytes are fixed by its key, which is derived from them)."""
    return expand(k, b"twin.chunk-nonce.v2" + bytes([encoding]) + (sha256(r) if encoding else b""), 12)


def manifest_nonce(km, manifest):
    return expand(km, b"twin.manifest-nonce.v2" + sha256(manifest), 12)


def seal(key, nonce, plaintext, aad=b""):
    """nonce || AES-256-GCM ciphertext || tag: every sealed object carries its synthetic nonce."""
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad or None)


def seal_chunk(k, encoding, r):
    return seal(k, chunk_nonce(k, encoding, r), r)


def file_tag(cm, chunk_tags):
    return sha256(b"twin.file-tag.v2", merkle_root(cm), *chunk_tags)


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
    strict, loose = mask(bits + NORMALIZATION), mask(bits - NORMALIZATION)
    h = 0
    for i in range(MIN, stop):
        h = ((h << 1) + GEAR[data[start + i]]) & M64
        if h & (strict if i < normal else loose) == 0:
            return i + 1
    return stop


def strict_cut_seed():
    """The first seed "strict-cut-N" whose stream's first chunk ends under the strict mask (before AVG):
    a cut there is rare (under 1 % of chunks), so the vectors name one on purpose."""
    for n in range(100_000):
        seed = "strict-cut-%d" % n
        if fastcdc_cut(stream(seed, AVG + 64), 0, AVG + 64) < AVG:
            return seed
    raise RuntimeError("no strict cut found")


def stream(seed, n):
    out, i = bytearray(), 0
    while len(out) < n:
        out += sha256(b"twin.test.stream", seed.encode(), struct.pack(">Q", i))
        i += 1
    return bytes(out[:n])


def deflate(m):
    c = zlib.compressobj(1, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY)
    return c.compress(m) + c.flush()


_libzstd = ctypes.CDLL(ctypes.util.find_library("zstd") or "libzstd.so.1")
_libzstd.ZSTD_compressBound.restype = ctypes.c_size_t
_libzstd.ZSTD_compressBound.argtypes = [ctypes.c_size_t]
_libzstd.ZSTD_createCCtx.restype = ctypes.c_void_p
_libzstd.ZSTD_freeCCtx.argtypes = [ctypes.c_void_p]
_libzstd.ZSTD_CCtx_setParameter.restype = ctypes.c_size_t
_libzstd.ZSTD_CCtx_setParameter.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
_libzstd.ZSTD_compress2.restype = ctypes.c_size_t
_libzstd.ZSTD_compress2.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
_libzstd.ZSTD_isError.restype = ctypes.c_uint
_libzstd.ZSTD_isError.argtypes = [ctypes.c_size_t]


# FORMAT.md's compression parameters, by zstd.h's ZSTD_cParameter numbers: level 1, hash log 11,
# minimum match 6.
ZSTD_PARAMETERS = [(100, 1), (102, 11), (105, 6)]


def zstd(m):
    """One Zstandard frame through the system libzstd, made by ZSTD_compress2 in a fresh context with
    ZSTD_PARAMETERS (the format pins its output, as it pins zlib's for encoding 1)."""
    context = _libzstd.ZSTD_createCCtx()
    try:
        for parameter, value in ZSTD_PARAMETERS:
            assert not _libzstd.ZSTD_isError(_libzstd.ZSTD_CCtx_setParameter(context, parameter, value))
        out = ctypes.create_string_buffer(_libzstd.ZSTD_compressBound(len(m)))
        n = _libzstd.ZSTD_compress2(context, out, len(out), m, len(m))
        assert not _libzstd.ZSTD_isError(n)
        return out.raw[:n]
    finally:
        _libzstd.ZSTD_freeCCtx(context)


def encode_chunk(m, metadata):
    """(tag, key, length, encoding) of one chunk; metadata chunks are zstd-compressed when that saves 1/8."""
    k = chunk_key(content_hash(m))
    if metadata and len(m) >= 64:
        z = zstd(m)
        if len(z) <= len(m) - len(m) // 8:
            return merkle_root(seal_chunk(k, 2, z)), k, len(m), 2
    return merkle_root(seal_chunk(k, 0, m)), k, len(m), 0


def cdc_split(data, start, end):
    out = []
    while start < end:
        n = fastcdc_cut(data, start, end)
        out.append((start, start + n))
        start += n
    return out


def png_runs(data):
    """(start, end, metadata?) runs of a well-formed PNG, per FORMAT.md's rules."""
    regions, pos = [(0, 8, "meta")], 8
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        regions.append((pos, pos + 12 + n, "pay" if typ in (b"IDAT", b"fdAT") else "meta"))
        pos += 12 + n
    runs = []
    for s0, e0, kind in regions:
        if runs:
            ps, pe, pk, plast = runs[-1]
            if (kind == pk == "pay") or (kind == pk == "meta" and plast < 1024 and e0 - s0 < 1024):
                runs[-1] = (ps, e0, pk, e0 - s0)
                continue
        runs.append((s0, e0, kind, e0 - s0))
    return [(s0, e0, k == "meta") for s0, e0, k, _ in runs]


def encode_file(data, runs, media):
    entries = []
    for start, end, metadata in runs:
        pieces = [(start, end)] if metadata and end - start <= MAX else cdc_split(data, start, end)
        entries += [encode_chunk(data[a:b], metadata) for a, b in pieces]
    manifest = b"TWMF" + bytes([2]) + struct.pack(">I", len(media)) + media.encode()
    manifest += struct.pack(">QI", len(data), len(entries))
    for t, k, n, e in entries:
        manifest += t + k + struct.pack(">IB", n, e)
    file_hash = sha256(b"twin.file.v1", struct.pack(">Q", len(data)), *[k for _, k, _, _ in entries])
    km = hkdf(file_hash, b"twin.file-key.v1")
    cm = seal(km, manifest_nonce(km, manifest), manifest, b"twin.manifest.v2")
    return {"seed": None, "length": len(data), "chunk_lengths": [n for _, _, n, _ in entries],
            "chunk_encodings": [e for _, _, _, e in entries],
            "chunk_tags": [t.hex() for t, _, _, _ in entries], "manifest": manifest.hex(),
            "file_key": km.hex(), "sealed_manifest_sha256": sha256(cm).hex(),
            "sealed_manifest_root": merkle_root(cm).hex(), "file_tag": file_tag(cm, [t for t, _, _, _ in entries]).hex()}


def png_chunk(typ, data):
    return struct.pack(">I", len(data)) + typ + data + struct.pack(">I", zlib.crc32(typ + data))


def reference_png():
    """The PNG the Swift test builds too (ReferencePNG): small header chunks, a large compressible
    iTXt (XMP-like), a tEXt, a 700 KB IDAT run in three chunks, IEND."""
    xmp = b"".join(b"<rdf:li>xmp.did:%08d</rdf:li>\n" % i for i in range(3000))
    pixels = stream("png-pixels", 700_000)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 640, 480, 8, 2, 0, 0, 0))
            + png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp)
            + png_chunk(b"tEXt", b"Author\x00alice")
            + png_chunk(b"IDAT", pixels[:300_000]) + png_chunk(b"IDAT", pixels[300_000:600_000])
            + png_chunk(b"IDAT", pixels[600_000:]) + png_chunk(b"IEND", b""))


def main():
    chunk_vectors = []
    for name, n in [("empty", 0), ("three", 3), ("one-full-leaf", 4096 - 16), ("two-leaves", 4097 - 16),
                    ("five-leaves", 4 * 4096 + 100)]:
        m = stream(name, n)
        h = content_hash(m)
        k = chunk_key(h)
        c = seal_chunk(k, 0, m)
        chunk_vectors.append({"encoding": 0, "name": name, "plaintext_sha256": sha256(m).hex(), "plaintext_length": len(m),
                              "seed": name, "content_hash": h.hex(), "key": k.hex(),
                              "nonce": chunk_nonce(k, 0, m).hex(),
                              "ciphertext_sha256": sha256(c).hex(), "ciphertext_length": len(c),
                              "tag": merkle_root(c).hex()})
    counted = b"".join(b"<rdf:li>xmp.did:%08d</rdf:li>\n" % i for i in range(500))
    # Photoshop's DocumentAncestors: 2400 random 128-bit ids in hex. Unlike the counted list, whose
    # matches any settings find, zstd's output here depends on the compression parameters.
    ids = stream("xmp-ancestors", 16 * 2400)
    ancestors = b"".join(b"<rdf:li>xmp.did:" + ids[i:i + 16].hex().upper().encode() + b"</rdf:li> "
                         for i in range(0, len(ids), 16))
    # Encoding 2 is what metadata is written as; encoding 1 (DEFLATE) what earlier versions wrote.
    for encoding, name, compress, text in [
            (2, "zstd-metadata", zstd, counted),
            (2, "zstd-xmp-ancestors", zstd, ancestors),
            (1, "deflated-metadata", deflate, counted)]:
        h = content_hash(text)
        k = chunk_key(h)
        c = seal_chunk(k, encoding, compress(text))
        chunk_vectors.append({"encoding": encoding, "name": name, "plaintext_sha256": sha256(text).hex(),
                              "plaintext_length": len(text), "seed": None, "content_hash": h.hex(), "key": k.hex(),
                              "nonce": chunk_nonce(k, encoding, compress(text)).hex(),
                              "representation_sha256": sha256(compress(text)).hex(),
                              "ciphertext_sha256": sha256(c).hex(), "ciphertext_length": len(c), "tag": merkle_root(c).hex()})
    files = []
    for seed, n in [("file-small", 1000), ("file-mid", 300_000), ("file-large", 1_500_000),
                    ("file-many-cuts", 6_000_000), (strict_cut_seed(), 300_000)]:
        data = stream(seed, n)
        v = encode_file(data, [(0, len(data), False)], "application/octet-stream")
        v["seed"] = seed
        files.append(v)
    png = reference_png()
    v = encode_file(png, png_runs(png), "image/png")
    v["seed"] = "png"
    v["sha256"] = sha256(png).hex()
    files.append(v)
    zstd_version = _libzstd.ZSTD_versionNumber()
    json.dump({"source": "tools/convergent_reference.py (Python, cryptography %s, libzstd %d.%d.%d)" % (
                   __import__("cryptography").__version__, zstd_version // 10000, zstd_version // 100 % 100, zstd_version % 100),
               "stream": "bytes = SHA-256('twin.test.stream' || seed || u64be(i)) for i = 0, 1, … truncated to length",
               "chunks": chunk_vectors, "files": files}, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
