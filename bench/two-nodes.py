#!/usr/bin/env python3
"""Two `twin serve` processes on one PostgreSQL database and one S3 (Ceph RGW) bucket (issue 20).

1. The make_corpus.py stream, split across both nodes: every user has an account made on one node,
   and each user's files go up in two concurrent runs, one per node. Stored bytes (the metadata's
   count, and what the bucket holds) must stay within 1.02 x the corpus's pixel bound: one copy
   across nodes. Every entry must then download byte-identical through the other node.
2. Node B is SIGKILLed in the middle of a run of uploads: every upload it acknowledged must read
   back byte-identical through node A.
3. Node A collects garbage every 0.2 s with no grace period while node B uploads, deletes and
   uploads again the same content: every entry left must read back, and `twin check` on the shared
   stores must find nothing missing or corrupt.

Usage: bench/two-nodes.py TWIN CORPUS_DIR CORPUS_JSON
Reads TWIN_PG_URL, S3_ENDPOINT and AWS_* from the environment (tools/services.sh prints them);
botocore, when installed, also sums the bucket's bytes independently of twin.
Prints one JSON summary and exits non-zero on any failure.
"""
import json, os, random, subprocess, sys, tempfile, threading, time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from servers import Server  # noqa: E402


def run(twin, home, *args, check=True):
    result = subprocess.run([twin, *args], env=dict(os.environ, TWIN_HOME=home), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"twin {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    return result


def same_bytes(path, expected):
    with open(path, "rb") as f:
        return f.read() == expected


def bucket_bytes(endpoint, bucket):
    """What the bucket holds, summed from ListObjectsV2 by botocore (None without botocore)."""
    try:
        import botocore.session
    except ImportError:
        return None
    client = botocore.session.get_session().create_client(
        "s3", endpoint_url=endpoint, region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"], aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"])
    total, count = 0, 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            total += item["Size"]
            count += 1
    return total, count


def main():
    twin, corpus, corpus_json = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3]
    pg, endpoint = os.environ["TWIN_PG_URL"], os.environ["S3_ENDPOINT"]
    tag = "%08x" % random.getrandbits(32)
    metadata = f"{pg}?schema=two_nodes_{tag}"
    bucket = f"twin-two-nodes-{tag}"
    blobs = f"s3:{endpoint}/{bucket}"
    pixel_bound = json.load(open(corpus_json))["pixel_bound_bytes"]
    work = tempfile.mkdtemp(prefix="two-nodes-")
    log = open(os.path.join(work, "servers.log"), "ab")
    stores = ["--metadata", metadata, "--blobs", blobs, "--create-bucket"]
    a = Server(twin, stores, log, name="node A")
    b = Server(twin, stores, log, name="node B")
    failures, summary = [], {}
    try:
        a.start()
        b.start()

        # 1. The stream, split across the nodes.
        stream = os.path.join(corpus, "stream")
        users = sorted(os.listdir(stream))
        homes = {u: os.path.join(work, "homes", u) for u in users}
        for i, user in enumerate(users):
            run(twin, homes[user], "account", "create", user, "--server", (a if i % 2 == 0 else b).url)
        started = time.time()

        def upload_half(user, node, files):
            if files:
                run(twin, homes[user], "upload", *files, "--attributes", "family", "--server", node.url)

        with ThreadPoolExecutor(max_workers=4) as pool:
            jobs = []
            for user in users:
                files = sorted(os.path.join(stream, user, f) for f in os.listdir(os.path.join(stream, user)))
                jobs.append(pool.submit(upload_half, user, a, files[0::2]))
                jobs.append(pool.submit(upload_half, user, b, files[1::2]))
            for job in jobs:
                job.result()
        summary["stream_seconds"] = round(time.time() - started, 2)
        stats = json.loads(run(twin, homes[users[0]], "stats", "--json", "--server", a.url).stdout)
        summary.update(logical_bytes=stats["logical_bytes"], stored_bytes=stats["stored_bytes"], pixel_bound_bytes=pixel_bound,
                       stored_over_pixel_bound=round(stats["stored_bytes"] / pixel_bound, 4))
        if stats["stored_bytes"] > 1.02 * pixel_bound:
            failures.append(f"stored {stats['stored_bytes']} bytes, more than 1.02 x the pixel bound {pixel_bound}")
        held = bucket_bytes(endpoint, bucket)
        if held is not None:
            summary.update(bucket_bytes=held[0], bucket_objects=held[1], bucket_over_pixel_bound=round(held[0] / pixel_bound, 4))
            if held[0] > 1.02 * pixel_bound:
                failures.append(f"the bucket holds {held[0]} bytes, more than 1.02 x the pixel bound")

        # Every entry through the other node than the one that took it.
        checked = 0
        for i, user in enumerate(users):
            files = sorted(os.listdir(os.path.join(stream, user)))
            for j, name in enumerate(files):
                other = b if j % 2 == 0 else a
                out = os.path.join(work, "out", user, name)
                os.makedirs(os.path.dirname(out), exist_ok=True)
                run(twin, homes[user], "get", name, "-o", out, "--server", other.url)
                if not same_bytes(out, open(os.path.join(stream, user, name), "rb").read()):
                    failures.append(f"{user}/{name} differs through {other.name}")
                checked += 1
        summary["downloads_checked"] = checked

        # 2. SIGKILL node B in the middle of a run of uploads.
        home = os.path.join(work, "homes", "killed")
        run(twin, home, "account", "create", "killed", "--server", a.url)
        sources = [os.path.join(corpus, "variants", f) for f in sorted(os.listdir(os.path.join(corpus, "variants")))]
        sources += [os.path.join(corpus, "base", f) for f in sorted(os.listdir(os.path.join(corpus, "base")))]
        acknowledged, attempted = [], 0
        stop = threading.Event()

        def uploads():
            nonlocal attempted
            for index, path in enumerate(sources):
                if stop.is_set():
                    return
                name = f"k{index:03d}_{os.path.basename(path)}"
                attempted += 1
                result = run(twin, home, "upload", path, "--name", name, "--server", b.url, check=False)
                if result.returncode == 0:
                    acknowledged.append((name, path))

        worker = threading.Thread(target=uploads)
        worker.start()
        time.sleep(3)
        b.kill()
        stop.set()
        worker.join()
        for name, path in acknowledged:
            out = os.path.join(work, "out", "killed", name)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            if run(twin, home, "get", name, "-o", out, "--server", a.url, check=False).returncode != 0 \
                    or not same_bytes(out, open(path, "rb").read()):
                failures.append(f"acknowledged upload {name} lost after node B was killed")
        summary.update(kill_attempted=attempted, kill_acknowledged=len(acknowledged))
        if not acknowledged:
            failures.append("no upload was acknowledged before the kill: the test proved nothing")
        b.start()

        # 3. Garbage collection on A (no grace, every 0.2 s) while B uploads, deletes and re-uploads.
        a.stop()
        a.start(extra=["--gc-grace", "0", "--gc-interval", "0.2"])
        home = os.path.join(work, "homes", "collected")
        run(twin, home, "account", "create", "collected", "--server", b.url)
        rng = random.Random(7)
        contents = {f"g{i:02d}.bin": bytes(rng.getrandbits(8) for _ in range(150_000 + 1000 * i)) for i in range(12)}
        folder = os.path.join(work, "gc")
        os.makedirs(folder)
        for name, data in contents.items():
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
        paths = [os.path.join(folder, n) for n in sorted(contents)]
        rounds = 6
        for round_ in range(rounds):
            run(twin, home, "upload", *paths, "--server", b.url)
            if round_ < rounds - 1:
                for name in sorted(contents):
                    run(twin, home, "rm", name, "--server", b.url)
                time.sleep(rng.uniform(0.0, 0.4))
        time.sleep(1)  # several more collection passes on A
        for name, data in contents.items():
            out = os.path.join(work, "out", "collected", name)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            if run(twin, home, "get", name, "-o", out, "--server", a.url, check=False).returncode != 0 \
                    or not same_bytes(out, data):
                failures.append(f"{name} lost to garbage collection on node A")
        summary["gc_rounds"] = rounds
        audit = run(twin, home, "check", "--metadata", metadata, "--blobs", blobs, "--json", check=False)
        try:
            report = json.loads(audit.stdout)
            summary["check"] = {k: report[k] for k in ("chunks", "blobs", "entries", "missing", "corrupt", "orphans")}
            if report["missing"] or report["corrupt"]:
                failures.append(f"twin check found damage: {report['details']}")
        except (ValueError, KeyError):
            failures.append(f"twin check did not report: {audit.stderr.strip()[-300:]}")
    except Exception as error:  # a step that could not run is a failure too
        failures.append(f"{type(error).__name__}: {error}")
    finally:
        a.stop()
        b.stop()
    summary["failures"] = failures
    print(json.dumps(summary, indent=1))
    if failures:
        log.flush()
        sys.stderr.write(open(os.path.join(work, "servers.log"), errors="replace").read()[-3000:])
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
