"""Headless Chromium for the report tests: render an HTML file, return the
DOM after scripts ran and what the browser logged.

A copy of the page gets a hook as the first thing in ``<head>``: uncaught
errors and ``alert()`` calls mark the ``<html>`` element
(``data-js-error``, ``data-alert``), so the dumped DOM tells whether any
script failed or ran.  Console messages (CSP violations, errors) come from
``--enable-logging=stderr``.  Tests skip with a clear message without the
Debian ``chromium`` package.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

HOOK = (
    "<script>window.alert=function(m){document.documentElement.setAttribute('data-alert',String(m))};"
    "window.addEventListener('error',function(e){document.documentElement.setAttribute('data-js-error',"
    "String(e.message||'resource failed to load'))},true);</script>"
)
_CSP = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>')


def chromium() -> str:
    """Path of the chromium binary, or skip the test."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium not installed (Debian: apt-get install chromium); the report's browser tests need it")
    return exe


def render(page: Path, tmp: Path, keep_csp: bool = True) -> tuple[str, list[str]]:
    """(DOM after load, console lines) of ``page`` in headless Chromium.

    ``keep_csp=False`` removes the report's Content-Security-Policy from the
    copy, so a script that escaped escaping would run (and be caught by the
    hook) instead of being blocked by the policy.
    """
    exe = chromium()
    html = page.read_text(encoding="utf-8")
    if not keep_csp:
        html = _CSP.sub("", html)
    assert "<head>" in html
    html = html.replace("<head>", "<head>" + HOOK, 1)
    tmp.mkdir(parents=True, exist_ok=True)
    copy = tmp / page.name
    copy.write_text(html, encoding="utf-8")
    proc = subprocess.run(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--enable-logging=stderr", "--v=0",
         f"--user-data-dir={tmp / 'profile'}", "--dump-dom", copy.resolve().as_uri()],
        capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [ln for ln in proc.stderr.splitlines() if ":CONSOLE" in ln]
    return proc.stdout, console
