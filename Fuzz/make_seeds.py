#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora (Fuzz/Corpus/TARGET/*): valid inputs of every format, so that
libFuzzer starts from the decoders' accepting paths. Run from the repository root with a built
`twin` (for the KP-ABE encodings) and Pillow (for real images):

    python3 Fuzz/make_seeds.py .build/debug/twin

The output is committed; rerun it only when a format changes."""
import base64, hashlib, io, json, os, struct, subprocess, sys, tempfile

from PIL import Image

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "Corpus")
twin = os.path.abspath(sys.argv[1])


def put(target, name, data):
    folder = os.path.join(root, target)
    os.makedirs(folder, exist_ok=True)
    open(os.path.join(folder, name), "wb").write(data if isinstance(data, bytes) else data.encode())


# Policies.
for i, text in enumerate(["family", "family or (friend and vacation)", "2 of (alice, bob, carol)",
                          '"Paris 2026" AND 2026', "a and (b or (c and (d or e)))", "1 of (x, y) or \"and\""]):
    put("policy", f"p{i}", text)

# KP-ABE encodings, made by the twin command line.
with tempfile.TemporaryDirectory() as work:
    subprocess.run([twin, "abe", "setup", "--out", work], check=True, capture_output=True)
    put("abe-parameters", "public", open(os.path.join(work, "public.key"), "rb").read())
    for i, policy in enumerate(["family", "friend and vacation", "2 of (a, b, c)"]):
        key = os.path.join(work, f"k{i}")
        subprocess.run([twin, "abe", "keygen", "--master", os.path.join(work, "master.key"), "--policy", policy, "--out", key],
                       check=True, capture_output=True)
        put("abe-key", f"k{i}", open(key, "rb").read())
    plain = os.path.join(work, "plain")
    open(plain, "wb").write(b"x" * 32)
    for i, attributes in enumerate(["family", "friend,vacation", "a,b,c,d"]):
        out = os.path.join(work, f"c{i}")
        subprocess.run([twin, "abe", "encrypt", "--public", os.path.join(work, "public.key"), "--attributes", attributes,
                        "--in", plain, "--out", out], check=True, capture_output=True)
        put("abe-ciphertext", f"c{i}", open(out, "rb").read())
        # A wrapped key: "TWAW" 1 | u32 len | capsule | nonce | u32 len | sealed key (a capsule is a ciphertext).
        capsule = open(out, "rb").read()
        put("abe-wrapped-key", f"w{i}", b"TWAW\x01" + struct.pack(">I", len(capsule)) + capsule + bytes(12)
            + struct.pack(">I", 48) + bytes(range(48)))

# BLS12-381 points and GT elements from the shared vectors.
vectors = json.load(open(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "vectors", "bls12_381.json")))
for i, v in enumerate(vectors["g1_mul"][:4]):
    put("g1", f"g{i}", bytes.fromhex(v["compressed"]))
for i, v in enumerate(vectors["g2_mul"][:4]):
    put("g2", f"g{i}", bytes.fromhex(v["compressed"]))
put("g1", "infinity", bytes.fromhex(vectors["g1_infinity_compressed"]))
put("g2", "infinity", bytes.fromhex(vectors["g2_infinity_compressed"]))
for i, v in enumerate(vectors["pairing"][:3]):
    # Six F_p2 coefficients, each c0 then c1, 48 bytes big-endian apiece (GT.bytes).
    put("gt", f"t{i}", b"".join(bytes.fromhex(c0) + bytes.fromhex(c1) for c0, c1 in v["gt"]))

# Manifests from the format's own vectors.
files = json.load(open(os.path.join(os.path.dirname(__file__), "..", "Tests", "ConvergentTests", "Resources", "convergent_vectors.json")))["files"]
for i, f in enumerate(files[:3]):
    put("manifest", f"m{i}", bytes.fromhex(f["manifest"]))

# Chunk bundles: tag || u32 length || bytes, records back to back.
def bundle(pieces):
    return b"".join(hashlib.sha256(p).digest() + struct.pack(">I", len(p)) + p for p in pieces)
put("chunk-bundle", "one", bundle([b"a" * 100]))
put("chunk-bundle", "three", bundle([b"x" * 28, b"y" * 300, bytes(range(256))]))

# Ownership proofs: "TWPO" 1 | id | u32 n | n × (u32 chunk, u32 leaf, u32 len, piece, u8 path length, path).
def opening(chunk, leaf, piece, path):
    return struct.pack(">III", chunk, leaf, len(piece)) + piece + bytes([len(path)]) + b"".join(path)
put("ownership-proof", "two", b"TWPO\x01" + bytes(range(32)) + struct.pack(">I", 2)
    + opening(0, 3, b"p" * 64, [bytes(32), bytes([1]) * 32]) + opening(2, 0, b"q" * 4096, []))

# Images for the chunker: a JPEG with EXIF-like comment, a PNG with text, and plain bytes.
for i, (kind, size) in enumerate([("JPEG", (64, 48)), ("PNG", (32, 32))]):
    image = Image.new("RGB", size, (i * 40, 120, 200))
    out = io.BytesIO()
    if kind == "JPEG":
        image.save(out, kind, quality=80, comment=b"seed photo")
    else:
        from PIL import PngImagePlugin
        info = PngImagePlugin.PngInfo()
        info.add_text("XML:com.adobe.xmp", "<x:xmpmeta>" + "<rdf:li>id</rdf:li>" * 50 + "</x:xmpmeta>")
        image.save(out, kind, pnginfo=info)
    put("chunker", kind.lower(), out.getvalue())
put("chunker", "riff", b"RIFF\x20\x00\x00\x00WEBPVP8 \x10\x00\x00\x00" + bytes(16))
put("chunker", "bmff", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic\x00\x00\x00\x10mdat" + bytes(8))

# JSON request bodies.
tag = "ab" * 32
for name, body in {
    "register": {"name": "alice", "signingKey": base64.b64encode(bytes(32)).decode(), "agreementKey": base64.b64encode(bytes(32)).decode(),
                 "authorityParameters": base64.b64encode(b"TWPP").decode(), "signature": base64.b64encode(bytes(64)).decode()},
    "challenge": {"user": "alice"},
    "token": {"user": "alice", "nonce": base64.b64encode(bytes(32)).decode(), "signature": base64.b64encode(bytes(64)).decode()},
    "grant": {"policy": "family or friend", "sealedKey": base64.b64encode(bytes(80)).decode()},
    "begin": {"files": [{"fileTag": tag, "chunkTags": tag + "cd" * 32, "chunkSizes": [1000, 28]}]},
    "commit": {"entries": [{"name": "a.jpg", "attributes": ["family"], "attributeWrappedKey": "", "ownerWrappedKey": "AQ==",
                            "sealedManifest": "AAAA", "mediaType": "image/jpeg", "size": 12}]},
    "challenge-descriptor": {"id": tag, "chunks": [0, 1], "leaves": [3, 0], "expiresAt": "2027-01-01T00:00:00Z"},
}.items():
    put("json-requests", name, json.dumps(body))
print("seeds written to", root)
