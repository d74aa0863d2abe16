#!/usr/bin/env python3
"""Opens the report's index.html in headless Chromium (Debian's chromium): the page loads with
no console message, has the results table with a row per case, every image has a non-zero
natural size, and the page itself holds no script and no outside address. Saves a screenshot.
Chromium reports back through --dump-dom: a test copy of the page carries a small script that
writes what it measured into the DOM. Exit 77 (skipped) only when chromium is not installed.
Usage: check_page.py OUT SCREENSHOT.png
"""
import json
import os
import re
import shutil
import subprocess
import sys

PROBE = """<script>
var pageErrors = [];
window.addEventListener('error', function (e) {
  pageErrors.push(e.message || ('could not load ' + (e.target && (e.target.src || e.target.href))));
}, true);
window.addEventListener('load', function () {
  var table = document.getElementById('results');
  var images = Array.prototype.map.call(document.images, function (i) {
    return {src: i.getAttribute('src'), width: i.naturalWidth, height: i.naturalHeight};
  });
  var out = document.createElement('pre');
  out.id = 'page-check';
  out.textContent = JSON.stringify({rows: table ? table.tBodies[0].rows.length : -1, images: images,
                                    errors: pageErrors});
  document.body.appendChild(out);
});
</script>"""


def chromium(*args):
    command = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--enable-logging=stderr", "--v=0", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=90)


def main(out, screenshot):
    failures = []
    page = open(os.path.join(out, "index.html"), encoding="utf-8").read()
    results = json.load(open(os.path.join(out, "results.json")))
    if re.search(r"<script|https?://|//[a-z0-9.-]+\.[a-z]{2,}/", page, re.I):
        failures.append("index.html has a script or an outside address")

    probe_page = os.path.join(out, "page_check.html")
    with open(probe_page, "w", encoding="utf-8") as f:
        f.write(page.replace("<head>", "<head>" + PROBE, 1))
    dumped = chromium("--virtual-time-budget=10000", "--dump-dom", "file://" + os.path.abspath(probe_page))
    os.remove(probe_page)
    match = re.search(r'<pre id="page-check">(.*?)</pre>', dumped.stdout, re.S)
    if not match:
        print(dumped.stderr[-2000:])
        failures.append("the probe wrote nothing: the page did not finish loading")
    else:
        seen = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                          .replace("&gt;", ">"))
        if seen["rows"] != len(results["cases"]):
            failures.append(f"the results table has {seen['rows']} rows for {len(results['cases'])} cases")
        if seen["errors"]:
            failures.append(f"errors while loading: {seen['errors']}")
        figures = json.load(open(os.path.join(out, "figures", "figures.json")))
        expected = 4 + len(figures)  # the four SVG curves and every deconvnet picture
        if len(seen["images"]) != expected:
            failures.append(f"{len(seen['images'])} images on the page, expected {expected}")
        for image in seen["images"]:
            if image["width"] <= 0 or image["height"] <= 0:
                failures.append(f"image {image['src']} has natural size {image['width']} x {image['height']}")
        print(f"{seen['rows']} table rows, images: " +
              ", ".join(f"{i['src']} {i['width']}x{i['height']}" for i in seen["images"]))

    # The page as a reader gets it: a screenshot, and Chromium's log of its console.
    shot = chromium("--virtual-time-budget=10000", f"--screenshot={screenshot}", "--window-size=1200,3600",
                    "file://" + os.path.abspath(os.path.join(out, "index.html")))
    console = [line for line in shot.stderr.splitlines() if "CONSOLE" in line]
    if console:
        failures.append(f"console messages: {console}")
    if not os.path.isfile(screenshot) or os.path.getsize(screenshot) == 0:
        failures.append(f"no screenshot in {screenshot}")
    else:
        print(f"screenshot: {screenshot}")

    for f in failures:
        print("FAIL -", f)
    return 1 if failures else 0


if __name__ == "__main__":
    CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
    if CHROMIUM is None:
        print("SKIP: chromium is not installed (scripts/setup-debian.sh installs it); the page was not checked")
        sys.exit(77)
    sys.exit(main(sys.argv[1], sys.argv[2]))
