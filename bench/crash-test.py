#!/usr/bin/env python3
"""Crash test (issue 19): concurrent uploads of real JPEG photos while `twin serve` is killed with
SIGKILL at random moments and restarted each time. Afterwards every upload that was acknowledged
(its `twin upload` exited 0) must read back byte-identical, `twin check` must report no missing and
no corrupt data, and SQLite's `PRAGMA integrity_check` must answer ok. Prints one JSON summary and
exits non-zero on any loss.

Usage: bench/crash-test.py TWIN_BINARY [--uploads 100] [--kills 20] [--parallel 10] [--seed 1]
Needs Pillow (the photos are encoded with it: noise, gradients and shapes, some sharing pixels
with edited metadata, so uploads deduplicate against each other as a photo library's do).
"""
import argparse, io, json, os, random, shutil, signal, socket, sqlite3, subprocess, sys, tempfile, threading, time
import urllib.request

from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from servers import Server  # noqa: E402


def photo(rng, index):
    """A real JPEG: a gradient with shapes and noise; every fourth shares the pixels of the one
    before it under another EXIF-free comment, as a re-shared photo with edited metadata does."""
    w, h = rng.choice([(640, 480), (800, 600), (1024, 768)])
    image = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(image)
    base = [rng.randrange(256) for _ in range(3)]
    for y in range(0, h, 4):
        draw.rectangle([0, y, w, y + 4], fill=tuple((c + y * 255 // h) % 256 for c in base))
    for _ in range(30):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        draw.ellipse([x0, y0, x0 + rng.randrange(20, 200), y0 + rng.randrange(20, 200)],
                     fill=tuple(rng.randrange(256) for _ in range(3)))
    noise = Image.effect_noise((w, h), rng.randrange(10, 60)).convert("RGB")
    image = Image.blend(image, noise, 0.25)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=rng.choice([80, 90, 95]), comment=f"photo {index}".encode())
    return out.getvalue()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("twin")
    parser.add_argument("--uploads", type=int, default=100)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=10)
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    twin = os.path.abspath(args.twin)
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="twin-crash-")
    data, photos = os.path.join(work, "data"), os.path.join(work, "photos")
    os.makedirs(photos)
    log = open(os.path.join(work, "server.log"), "ab")
    server = Server(twin, ["--data", data], log)
    summary = {"uploads": args.uploads, "kills": 0, "acknowledged": 0, "retried": 0, "unanswered_commits": 0, "verified": 0}
    failures = []
    try:
        server.start()
        homes = []
        for u in range(args.users):
            home = os.path.join(work, f"home{u}")
            subprocess.run([twin, "account", "create", f"user{u}", "--server", server.url], check=True,
                           env={**os.environ, "TWIN_HOME": home}, capture_output=True)
            homes.append(home)
        # Photos: some shared between users (dedup), some with the same pixels as another.
        files = []
        previous = None
        for i in range(args.uploads):
            if previous is not None and i % 4 == 3:
                bytes_ = previous.replace(f"photo {i - 1}".encode(), f"photo {i} edit".encode(), 1)
            elif files and i % 5 == 4:
                bytes_ = open(files[rng.randrange(len(files))][1], "rb").read()
            else:
                bytes_ = photo(rng, i)
            previous = bytes_
            path = os.path.join(photos, f"p{i:03}.jpg")
            open(path, "wb").write(bytes_)
            files.append((i % args.users, path, f"p{i:03}.jpg"))

        lock = threading.Lock()
        done = threading.Event()
        acknowledged = {}   # (user, name) -> path

        def upload(job):
            user, path, name = job
            env = {**os.environ, "TWIN_HOME": homes[user]}
            for attempt in range(60):
                result = subprocess.run([twin, "upload", path, "--name", name, "--json"], env=env, capture_output=True)
                if result.returncode == 0:
                    with lock:
                        acknowledged[(user, name)] = path
                        summary["acknowledged"] += 1
                        summary["retried"] += attempt > 0
                    return
                # A commit the server made just before it was killed, whose answer was lost: the
                # entry exists, and is checked like an acknowledged one.
                if b"already exists" in result.stderr:
                    with lock:
                        acknowledged[(user, name)] = path
                        summary["unanswered_commits"] += 1
                    return
                time.sleep(0.05 + rng.random() * 0.2)
            with lock:
                failures.append(f"{name}: never uploaded: {result.stderr.decode(errors='replace')[-300:]}")

        def killer():
            while not done.is_set() or summary["kills"] < args.kills:
                time.sleep(0.1 + rng.random() * 0.6)
                server.kill()
                summary["kills"] += 1
                server.start()
                if done.is_set() and summary["kills"] >= args.kills:
                    return

        jobs = list(files)
        killing = threading.Thread(target=killer)
        killing.start()
        workers = []
        next_job = [0]

        def worker():
            while True:
                with lock:
                    if next_job[0] >= len(jobs):
                        return
                    job = jobs[next_job[0]]
                    next_job[0] += 1
                upload(job)

        for _ in range(args.parallel):
            thread = threading.Thread(target=worker)
            thread.start()
            workers.append(thread)
        for thread in workers:
            thread.join()
        done.set()
        killing.join()

        # Every acknowledged upload reads back byte-identical.
        out = os.path.join(work, "out.jpg")
        for (user, name), path in sorted(acknowledged.items()):
            env = {**os.environ, "TWIN_HOME": homes[user]}
            result = subprocess.run([twin, "get", name, "-o", out], env=env, capture_output=True)
            if result.returncode != 0 or open(out, "rb").read() != open(path, "rb").read():
                failures.append(f"user{user}/{name}: read back failed: {result.stderr.decode(errors='replace')[-300:]}")
            else:
                summary["verified"] += 1
        server.stop()
        check = subprocess.run([twin, "check", "--json", "--data", data], capture_output=True)
        report = json.loads(check.stdout)
        summary["check"] = {k: report[k] for k in ["chunks", "blobs", "entries", "missing", "corrupt", "orphans"]}
        if report["missing"] or report["corrupt"]:
            failures.append(f"twin check: {report}")
        database = sqlite3.connect(os.path.join(data, "metadata.sqlite"))
        summary["integrity_check"] = database.execute("PRAGMA integrity_check").fetchone()[0]
        database.close()
        if summary["integrity_check"] != "ok":
            failures.append(f"integrity_check: {summary['integrity_check']}")
        if summary["kills"] < args.kills:
            failures.append(f"only {summary['kills']} kills")
    finally:
        server.stop()
        log.close()
    summary["failures"] = failures
    print(json.dumps(summary))
    if failures:
        print(f"crash test: {len(failures)} failures; work folder kept at {work}", file=sys.stderr)
        sys.exit(1)
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
