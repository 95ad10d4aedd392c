#!/usr/bin/env python3
"""The gallery's load times for a large folder, in Debian's chromium, and what thumbnails cost an upload.

Uploads COUNT (default 500) photo-like 1200x900 JPEGs twice, to two fresh accounts: once with
thumbnails (the default) and once with --no-thumbnails, and reports both upload times and bytes
sent. Then opens each account's gallery and measures, from navigation start, until the first screen's
thumbnails are decoded and until all are (scrolling a screen at a time as each completes):
  - first view: thumbnails made at upload are downloaded and decrypted;
  - cached view: the same page again, thumbnails from the gallery process's memory;
  - first view without upload-time thumbnails: each made from the full image on first view.
Prints one JSON object. Not run by CI.

Usage: bench/gallery.py TWIN [COUNT]
"""
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

spec = importlib.util.spec_from_file_location("gallery_test", os.path.join(os.path.dirname(__file__), "..", "tools", "gallery-test.py"))
helpers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(helpers)


def main():
    twin = os.path.abspath(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    work = tempfile.mkdtemp(prefix="twin-gallery-bench-")
    env = dict(os.environ, TWIN_PASSPHRASE="gallery-bench", TWIN_KEYRING_SCRYPT_N="16384")
    processes = []
    result = {"images": count}

    def twin_run(arguments, home):
        start = time.time()
        out = subprocess.run([twin] + arguments, env=dict(env, TWIN_HOME=os.path.join(work, home)), check=True,
                             capture_output=True, text=True).stdout
        return time.time() - start, out

    driver = None
    try:
        port = helpers.free_port()
        server = f"http://127.0.0.1:{port}"
        processes.append(subprocess.Popen([twin, "serve", "--data", os.path.join(work, "data"), "--port", str(port),
                                           "--log-level", "warning"], env=env))
        helpers.wait_for_port(port)
        photos = os.path.join(work, "photos")
        helpers.make_images(photos, count)
        for home in ["thumbs", "plain"]:
            twin_run(["account", "create", home, "--server", server], home)
        print("uploading", file=sys.stderr, flush=True)
        seconds, out = twin_run(["upload", photos, "--json"], "thumbs")
        report = json.loads(out)
        result["upload_with_thumbnails_seconds"] = round(seconds, 3)
        result["thumbnail_sent_bytes_per_image"] = round(report["thumbnail_sent_bytes"] / count)
        # The second account uploads the same photos: its chunks deduplicate, so compare upload
        # times on a second fresh folder of other photos instead.
        other = os.path.join(work, "other")
        helpers.make_images(other, count, seed=8)
        seconds_plain, _ = twin_run(["upload", other, "--json", "--no-thumbnails"], "plain")
        result["upload_without_thumbnails_seconds"] = round(seconds_plain, 3)
        result["thumbnail_ms_per_image"] = round(1000 * (seconds - seconds_plain) / count, 2)

        options = webdriver.ChromeOptions()
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1400"]:
            options.add_argument(argument)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)

        def view(url):
            """Seconds until the first screen's thumbnails are decoded, and until all are, the page
            scrolled a screen at a time as each screen completes (lazy loading fetches what nears
            the viewport)."""
            start = time.time()
            driver.get(url)
            first_screen = None
            while time.time() - start < 600:
                states = driver.execute_script("""
                    const h = window.innerHeight;
                    return Array.from(document.querySelectorAll('img.thumb')).map(i => {
                        const r = i.getBoundingClientRect();
                        return [i.complete && i.naturalWidth > 0, r.bottom > 0 && r.top < h];
                    });""")
                visible = [done for done, shown in states if shown]
                if first_screen is None and visible and all(visible):
                    first_screen = time.time() - start
                if states and all(done for done, _ in states):
                    return first_screen, time.time() - start, len(states)
                if visible and all(visible):
                    driver.execute_script("window.scrollBy(0, window.innerHeight)")
                time.sleep(0.02)
            raise RuntimeError("thumbnails still loading after 600 s")

        print("viewing", result, file=sys.stderr, flush=True)
        for home, key in [("thumbs", "made_at_upload"), ("plain", "made_on_first_view")]:
            gallery_port = helpers.free_port()
            process = subprocess.Popen([twin, "gallery", "--port", str(gallery_port)], env=dict(env, TWIN_HOME=os.path.join(work, home)),
                                       stdout=subprocess.PIPE, text=True)
            processes.append(process)
            link = process.stdout.readline().strip().split(" at ")[-1]
            driver.get(link)
            base = f"http://127.0.0.1:{gallery_port}/"
            print("first view", key, file=sys.stderr, flush=True)
            first_screen, first, tiles = view(base)
            cached_screen, cached, _ = view(base)
            result[f"first_view_first_screen_seconds_{key}"] = round(first_screen, 3)
            result[f"first_view_all_seconds_{key}"] = round(first, 3)
            result[f"cached_view_first_screen_seconds_{key}"] = round(cached_screen, 3)
            result[f"cached_view_all_seconds_{key}"] = round(cached, 3)
            result[f"tiles_{key}"] = tiles
    finally:
        if driver:
            driver.quit()
        for process in processes:
            process.kill()
            process.wait()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
