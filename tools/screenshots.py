"""make screenshots: real Odoo screens, captured in headless Chromium, for the README and the app page.

Run by ``tools/dev.py screenshots`` once ``make demo`` has built the demo database: it starts
Odoo on that database, logs in (admin for the back office, the demo portal user for the portal)
and saves PNG files into ``static/description/screenshots/``.
"""

import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import websocket

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "static" / "description" / "screenshots"


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    sys.exit("make screenshots: Chromium is not installed (apt-get install chromium)")


def session_id(base, login, password):
    response = requests.post(f"{base}/web/session/authenticate", json={
        "jsonrpc": "2.0", "params": {"db": sys.argv[2], "login": login, "password": password}}, timeout=30)
    response.raise_for_status()
    return response.cookies["session_id"]


class Browser:
    def __init__(self, port=9333):
        self.profile = tempfile.mkdtemp(prefix="swsub-shots-")
        self.process = subprocess.Popen([
            chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", f"--remote-debugging-port={port}",
            "--remote-allow-origins=*",
            f"--user-data-dir={self.profile}", "--window-size=1440,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _attempt in range(50):
            try:
                pages = requests.get(f"http://127.0.0.1:{port}/json", timeout=2).json()
                break
            except requests.RequestException:
                time.sleep(0.2)
        page = next(page for page in pages if page["type"] == "page")
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self.counter = 0

    def call(self, method, **params):
        self.counter += 1
        self.socket.send(json.dumps({"id": self.counter, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.counter:
                return message.get("result", {})

    def shoot(self, url, path, cookie, base, wait=4.0, click=None):
        """Open ``url`` and capture it; with ``click`` (a CSS selector), click that first (a button
        opening a dialog) and capture the dialog."""
        self.call("Network.enable")
        self.call("Network.setCookie", name="session_id", value=cookie, url=base)
        self.call("Emulation.setDeviceMetricsOverride", width=1440, height=900, deviceScaleFactor=1, mobile=False)
        self.call("Page.navigate", url=url)
        time.sleep(wait)
        if click:
            found = self.call("Runtime.evaluate", expression=f"""
                (() => {{ const el = document.querySelector({json.dumps(click)}); if (el) el.click(); return !!el; }})()
            """, returnByValue=True)
            if not found.get("result", {}).get("value"):
                sys.exit(f"make screenshots: nothing matches {click} on {url}")
            time.sleep(wait)
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        print(f"  {path.relative_to(ROOT)}")

    def close(self):
        self.socket.close()
        self.process.terminate()
        shutil.rmtree(self.profile, ignore_errors=True)


def main():
    base = sys.argv[1]
    ids = json.loads(sys.argv[3])
    OUT.mkdir(parents=True, exist_ok=True)
    admin = session_id(base, "admin", "admin")
    portal = session_id(base, "peeters", "peeters")
    browser = Browser()
    try:
        shots = [
            (f"{base}/odoo/weekly-subscriptions/{ids['subscription']}", "subscription_form.png", admin),
            (f"{base}/odoo/weekly-subscriptions", "subscription_list.png", admin),
            (f"{base}/odoo/subscription-pauses/{ids['pause']}", "pause_form.png", admin),
            (f"{base}/odoo/weekly-subscriptions/{ids['running_subscription']}", "pause_wizard.png", admin,
             "button[name=action_recurring_pause]"),
            (f"{base}/odoo/action-sale_weekly_subscription.sale_recurring_sepa_batch_action/{ids['batch']}",
             "direct_debit_batch.png", admin),
            (f"{base}/odoo/action-sale_weekly_subscription.sale_recurring_sepa_run_action", "direct_debit_run.png",
             admin),
            (f"{base}/odoo/action-sale_weekly_subscription.sale_recurring_mrr_month_action", "dashboard.png", admin),
            (f"{base}/odoo/weekly-subscriptions/{ids['backdated_quotation']}", "catch_up_wizard.png", admin,
             "button[name=action_confirm]"),
            (f"{base}/odoo/action-sale_weekly_subscription.sale_recurring_mandate_action/{ids['mandate']}",
             "mandate_form.png", admin),
            (f"{base}/my/subscriptions/{ids['portal_subscription']}", "portal_subscription.png", portal),
        ]
        # the first page builds the web client's assets: let it finish before the first picture
        browser.shoot(shots[0][0], OUT / shots[0][1], admin, base, wait=15.0)
        for url, name, cookie, *click in shots:
            browser.shoot(url, OUT / name, cookie, base, click=click[0] if click else None)
    finally:
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
