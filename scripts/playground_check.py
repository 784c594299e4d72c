"""The playground page of `bertrs-cli serve` in a real browser: headless Chromium (Debian's
`chromium`), driven over the DevTools protocol as a person would use the page: type a text,
click Classify, read the labels shown, and keep a screenshot.

    playground_check.py URL TEXT SCREENSHOT.png   → prints {"rows": [{"label", "score"}, ...]}
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import websocket

url, text, shot = sys.argv[1], sys.argv[2], sys.argv[3]
browser = shutil.which("chromium") or shutil.which("chromium-browser")
if browser is None:
    sys.exit("no chromium on PATH (apt-get install chromium)")

profile = tempfile.mkdtemp(prefix="bertrs-chromium-")
proc = subprocess.Popen(
    [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
     "--remote-debugging-port=0", f"--user-data-dir={profile}", "--window-size=900,900", "about:blank"],
    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
try:
    # Chromium writes the port it chose into the profile directory.
    port_file = os.path.join(profile, "DevToolsActivePort")
    deadline = time.time() + 60
    while not os.path.exists(port_file) or not open(port_file).read().strip():
        if proc.poll() is not None or time.time() > deadline:
            sys.exit("chromium did not start: " + proc.stderr.read().decode(errors="replace")[-2000:])
        time.sleep(0.1)
    port = open(port_file).read().split()[0]
    import urllib.request
    targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
    page = next(t for t in targets if t["type"] == "page")
    ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60)
    seq = 0

    def call(method, **params):
        global seq
        seq += 1
        ws.send(json.dumps({"id": seq, "method": method, "params": params}))
        while True:
            msg = json.loads(ws.recv())
            if msg.get("id") == seq:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]

    def js(expr):
        r = call("Runtime.evaluate", expression=expr, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expr}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait_for(expr, what):
        deadline = time.time() + 30
        while not js(expr):
            if time.time() > deadline:
                sys.exit(f"timed out waiting for {what}; page: " + js("document.body.innerText"))
            time.sleep(0.1)

    call("Page.enable")
    call("Page.navigate", url=url + "/")
    wait_for("document.readyState === 'complete' && !!document.getElementById('classify')", "the page")
    wait_for("!document.getElementById('model').textContent.startsWith('loading')", "the model info")
    # Typing: focus the text box and insert the text as keyboard input would.
    js("document.getElementById('text').focus()")
    call("Input.insertText", text=text)
    box = js("(() => { const r = document.getElementById('classify').getBoundingClientRect();"
             " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
    for kind in ("mousePressed", "mouseReleased"):
        call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)
    wait_for("document.body.dataset.state === 'done' || document.body.dataset.state === 'error'", "the answer")
    error = js("document.getElementById('error').textContent")
    if error:
        sys.exit(f"the page shows an error: {error}")
    rows = js("[...document.querySelectorAll('#results .row')].map(r => ({label: r.querySelector('.label').textContent,"
              " score: r.querySelector('.score').textContent}))")
    png = call("Page.captureScreenshot", format="png")["data"]
    with open(shot, "wb") as f:
        f.write(base64.b64decode(png))
    print(json.dumps({"rows": rows, "model": js("document.getElementById('model').textContent")}))
    ws.close()
finally:
    proc.kill()
    proc.wait()
    shutil.rmtree(profile, ignore_errors=True)
