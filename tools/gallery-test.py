#!/usr/bin/env python3
"""The gallery in a real browser (Debian's chromium through chromium-driver and selenium).

Starts `twin serve`, makes alice and bob, uploads a folder of JPEGs as alice, and drives
`twin gallery` for each of them:
  - the grid shows one loaded thumbnail per uploaded image;
  - a click shows the full image; its download is byte-identical to the original;
  - a grant made from the page makes the images appear in bob's gallery; a revoke from the page
    makes them disappear;
  - requests without the token, or with a foreign Host header, are refused.
Screenshots of the grid and of a full image go to SCREENSHOTS (docs/screenshots in the repository).

Usage: tools/gallery-test.py TWIN SCREENSHOTS   (exit 0 when every check passed)
"""
import io
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from PIL import Image, ImageDraw
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

IMAGES = 12
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def make_images(folder, count=IMAGES, seed=7):
    """Photos-like JPEGs: gradients with shapes, each different."""
    os.makedirs(folder)
    rng = random.Random(seed)
    for i in range(count):
        image = Image.new("RGB", (1200, 900))
        draw = ImageDraw.Draw(image)
        top, bottom = [rng.randrange(256) for _ in range(3)], [rng.randrange(256) for _ in range(3)]
        for y in range(900):
            t = y / 899
            draw.line([(0, y), (1199, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom)))
        for _ in range(6):
            x, y, r = rng.randrange(1200), rng.randrange(900), rng.randrange(40, 200)
            draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(rng.randrange(256) for _ in range(3)))
        image.save(os.path.join(folder, f"photo{i:03d}.jpg" if count > 100 else f"photo{i:02d}.jpg"), quality=88)


def main():
    twin, screenshots = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    os.makedirs(screenshots, exist_ok=True)
    work = tempfile.mkdtemp(prefix="twin-gallery-")
    env = dict(os.environ, TWIN_PASSPHRASE="gallery-test", TWIN_KEYRING_SCRYPT_N="16384")
    processes = []

    def start(arguments, home=None, **kwargs):
        e = dict(env, TWIN_HOME=os.path.join(work, home)) if home else env
        process = subprocess.Popen([twin] + arguments, env=e, **kwargs)
        processes.append(process)
        return process

    def run(arguments, home):
        subprocess.run([twin] + arguments, env=dict(env, TWIN_HOME=os.path.join(work, home)), check=True,
                       stdout=subprocess.DEVNULL)

    def gallery(home):
        port = free_port()
        process = start(["gallery", "--port", str(port)], home, stdout=subprocess.PIPE, text=True)
        line = process.stdout.readline()
        return port, line.strip().split(" at ")[-1]

    driver = None
    try:
        port = free_port()
        server = f"http://127.0.0.1:{port}"
        admin_file = os.path.join(work, "admin-token")
        start(["serve", "--data", os.path.join(work, "data"), "--port", str(port), "--log-level", "warning",
               "--admin-token-file", admin_file, "--stats-interval", "1"], stderr=subprocess.DEVNULL)
        wait_for_port(port)
        run(["account", "create", "alice", "--server", server], "alice")
        run(["account", "create", "bob", "--server", server], "bob")
        photos = os.path.join(work, "holiday")
        make_images(photos)
        run(["upload", photos, "--attributes", "family"], "alice")

        options = webdriver.ChromeOptions()
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1400"]:
            options.add_argument(argument)
        binary = next((p for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] if os.path.exists(p)), None)
        if binary:
            options.binary_location = binary
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)

        def message():
            # The answer page of a grant or revoke: a revoke re-keys every entry first, which on a
            # loaded machine outlasts the click's own wait for the page.
            return WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".message"))[0].text

        def loaded_thumbnails():
            driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
            deadline = time.time() + 30
            while time.time() < deadline:
                states = driver.execute_script(
                    "return Array.from(document.querySelectorAll('img.thumb')).map(i => i.complete && i.naturalWidth > 0)")
                if states and all(states):
                    return len(states)
                time.sleep(0.2)
            return sum(1 for s in states if s)

        # alice's grid: one loaded thumbnail per image.
        alice_port, alice_link = gallery("alice")
        driver.get(alice_link)
        check(driver.current_url == f"http://127.0.0.1:{alice_port}/", "the token is exchanged for a cookie and leaves the address")
        check(loaded_thumbnails() == IMAGES, f"the grid shows {IMAGES} loaded thumbnails for {IMAGES} images")
        driver.save_screenshot(os.path.join(screenshots, "gallery.png"))

        # A click shows the full image; its download is identical to the original.
        driver.find_elements(By.CSS_SELECTOR, "a.tile")[0].click()
        full = driver.find_element(By.CSS_SELECTOR, "img.full")
        deadline = time.time() + 30
        while time.time() < deadline and not driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", full):
            time.sleep(0.2)
        check(driver.execute_script("return arguments[0].naturalWidth", full) == 1200, "a click shows the full image")
        driver.save_screenshot(os.path.join(screenshots, "gallery-image.png"))
        cookie_name = f"twin_gallery_{alice_port}"
        cookie = driver.get_cookie(cookie_name)["value"]
        download = driver.find_element(By.CSS_SELECTOR, "a.download").get_attribute("href")
        request = urllib.request.Request(download, headers={"Cookie": f"{cookie_name}={cookie}"})
        with urllib.request.urlopen(request) as response:
            body = response.read()
            disposition = response.headers.get("Content-Disposition", "")
        with open(os.path.join(photos, "photo00.jpg"), "rb") as original:
            check(body == original.read() and "attachment" in disposition, "the download is byte-identical to the uploaded file")

        # Refusals: no token, a foreign Host (DNS rebinding), no caching, a strict policy.
        base = f"http://127.0.0.1:{alice_port}/"
        try:
            urllib.request.urlopen(base)
            check(False, "a request without the token is refused")
        except urllib.error.HTTPError as error:
            check(error.code == 401, "a request without the token is refused (401)")
        try:
            urllib.request.urlopen(urllib.request.Request(base, headers={"Host": f"rebound.example:{alice_port}",
                                                                         "Cookie": f"{cookie_name}={cookie}"}))
            check(False, "a request with a foreign Host header is refused")
        except urllib.error.HTTPError as error:
            check(error.code == 403, "a request with a foreign Host header is refused (403)")
        with urllib.request.urlopen(urllib.request.Request(base, headers={"Cookie": f"{cookie_name}={cookie}"})) as response:
            check(response.headers.get("Cache-Control") == "no-store" and "default-src 'none'" in response.headers.get(
                "Content-Security-Policy", "") and response.headers.get("Access-Control-Allow-Origin") is None,
                  "pages are not cached, carry a strict Content-Security-Policy and no CORS header")

        # Sharing from the page: bob sees alice's images, then, after the revoke, does not.
        driver.get(base)
        driver.find_element(By.NAME, "user").send_keys("bob")
        driver.find_element(By.NAME, "policy").send_keys("family")
        driver.find_element(By.CSS_SELECTOR, "form[action='/grant'] button").click()
        check("Granted bob" in message(), "a grant from the page")
        bob_port, bob_link = gallery("bob")
        driver.get(bob_link)
        driver.find_element(By.LINK_TEXT, "Shared by alice").click()
        check(loaded_thumbnails() == IMAGES, "the shared images appear in the grantee's gallery")
        driver.save_screenshot(os.path.join(screenshots, "gallery-shared.png"))

        driver.get(base)
        driver.find_element(By.CSS_SELECTOR, "form[action='/revoke'] button").click()
        check("Revoked bob" in message(), "a revoke from the page")
        driver.get(f"http://127.0.0.1:{bob_port}/shared/alice")
        check(len(driver.find_elements(By.CSS_SELECTOR, "img.thumb")) == 0, "after the revoke the shared images are gone")
        driver.get(f"http://127.0.0.1:{bob_port}/")
        check(len(driver.find_elements(By.LINK_TEXT, "Shared by alice")) == 0, "and alice is no longer listed as sharing")

        # The operator's dashboard, for its screenshot: bob uploads alice's photos too (deduplicated).
        run(["upload", photos], "bob")
        time.sleep(3)
        with open(admin_file) as f:
            admin = f.read().strip()
        driver.get(f"{server}/dashboard?token={admin}")
        check("Dedup ratio" in driver.page_source and "alice" in driver.page_source, "the dashboard opens with the admin token")
        driver.save_screenshot(os.path.join(screenshots, "dashboard.png"))
    finally:
        if driver:
            driver.quit()
        for process in processes:
            process.kill()
            process.wait()
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
