"""What a proof of work costs a reader: solve times in Chromium at the default difficulty.

    timeout 600 .venv/bin/python tests/bench/bench_pow.py [--challenges 30] [--max-number N]

Debian's Chromium (/usr/bin/chromium, headless, through Playwright) runs
commentd/static/js/pow.js in a Web Worker made from a Blob, as the embed does. ``--challenges``
fresh challenges made by commentd's own issuer (commentd.services.altcha) at ``--max-number``
(default: ``[spam] pow_max_number``'s default) are solved one after another; each solution is
checked by the server's verifier. Printed: the median, p90 and worst solve time (from
postMessage to the answer, in the page), and the tries per second.

Baselines, measured in the same run and the same worker: the time of exactly 100,000 tries
(a challenge whose answer is 100,000), and the same 100,000 SHA-256 tries with crypto.subtle
(the Web Crypto call ALTCHA's own widget uses), one await per try.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from commentd.config import default_config  # noqa: E402
from commentd.services import altcha  # noqa: E402
from commentd.storage.models import utcnow  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

POW_JS = ROOT / "commentd" / "static" / "js" / "pow.js"
KEY = b"bench-key-" * 4
FIXED = 100_000

PAGE_JS = """async ([src, challenges]) => {
  const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
  const w = new Worker(url), out = [];
  for (const c of challenges) {
    const t = performance.now();
    const number = await new Promise(ok => {
      w.onmessage = e => ok(e.data.number);
      w.postMessage(c);
    });
    out.push([number, performance.now() - t]);
  }
  w.terminate();
  return out;
}"""

SUBTLE_JS = """async ([salt, tries]) => {
  const code = `onmessage = async e => {
    const [salt, tries] = e.data, enc = new TextEncoder(), t = performance.now();
    for (let n = 0; n < tries; n++) await crypto.subtle.digest("SHA-256", enc.encode(salt + n));
    postMessage(performance.now() - t);
  };`;
  const w = new Worker(URL.createObjectURL(new Blob([code], { type: "text/javascript" })));
  const ms = await new Promise(ok => {
    w.onmessage = e => ok(e.data);
    w.onerror = () => ok(NaN);
    w.postMessage([salt, tries]);
  });
  w.terminate();
  return ms;
}"""


def payload(challenge: dict, number: int) -> str:
    fields = {k: challenge[k] for k in ("algorithm", "challenge", "salt", "signature")}
    return base64.b64encode(json.dumps({**fields, "number": number}).encode()).decode()


def fixed_challenge(max_number: int) -> dict:
    """A challenge whose answer is exactly ``max_number``: a fixed count of tries."""
    c = altcha.issue(KEY, max_number, utcnow() + dt.timedelta(hours=1)).to_dict()
    c["challenge"] = hashlib.sha256(f"{c['salt']}{max_number}".encode()).hexdigest()
    return c


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--challenges", type=int, default=30)
    parser.add_argument("--max-number", type=int, default=default_config().spam.pow_max_number)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    expires = utcnow() + dt.timedelta(hours=1)
    challenges = [
        altcha.issue(KEY, args.max_number, expires).to_dict() for _ in range(args.challenges)
    ]
    src = POW_JS.read_text(encoding="utf-8")
    with sync_playwright() as manager:
        browser = manager.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        # A page on localhost: a secure context, as a blog on HTTPS is (crypto.subtle needs one)
        page.route(
            "http://localhost/", lambda route: route.fulfill(body="", content_type="text/html")
        )
        page.goto("http://localhost/")
        page.evaluate(PAGE_JS, [src, [fixed_challenge(1000)]])  # warm the JIT up
        (_, fixed_ms), *_ = page.evaluate(PAGE_JS, [src, [fixed_challenge(FIXED)]])
        subtle_ms = page.evaluate(SUBTLE_JS, [challenges[0]["salt"], FIXED])
        results = page.evaluate(PAGE_JS, [src, challenges])
        browser.close()

    now = utcnow()
    for challenge, (number, _) in zip(challenges, results, strict=True):
        altcha.verify(KEY, payload(challenge, number), now)  # raises if the worker was wrong
    times = sorted(ms for _, ms in results)
    tries = sum(number + 1 for number, _ in results)
    median, p90 = statistics.median(times), times[int(0.9 * (len(times) - 1))]
    rate = tries / (sum(times) / 1000)
    print(f"Chromium {CHROMIUM}, pow.js in a Web Worker, maxnumber {args.max_number:,}")
    print(f"{'measure':<44} {'ms':>9} {'vs 100k tries':>14}")
    print(f"{'baseline: 100,000 tries (pow.js)':<44} {fixed_ms:>9.1f} {1:>14.2f}")
    print(
        f"{'baseline: 100,000 tries (crypto.subtle)':<44} {subtle_ms:>9.1f} "
        f"{subtle_ms / fixed_ms:>14.2f}"
    )
    for name, value in (("median solve", median), ("p90 solve", p90), ("worst solve", times[-1])):
        print(f"{name + f' ({len(times)} challenges)':<44} {value:>9.1f} {value / fixed_ms:>14.2f}")
    print(
        f"tries per second: {rate:,.0f}; goal median < 1000 ms: "
        f"{'met' if median < 1000 else 'NOT met'}"
    )
    return 0 if median < 1000 else 1


if __name__ == "__main__":
    sys.exit(main())
