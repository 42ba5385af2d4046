"""Screenshot of the demo in a real headless browser: launch the app on one model, upload an image, wait for
the maps, save a PNG of the page. Also the browser machinery of tests/test_demo.py.

    python demo/screenshot.py --model DIR --image PATH --out docs/demo.png [--playground-out docs/playground.png]

Needs Debian's Chromium and the Playwright package (which drives it; never run `playwright install`):

    apt-get update && apt-get install -y --no-install-recommends chromium
    pip install playwright
"""
from __future__ import annotations
import argparse, io, os, shutil, socket, sys, time
from pathlib import Path

INSTALL = ("apt-get update && apt-get install -y --no-install-recommends chromium && pip install playwright "
           "(drive Debian's /usr/bin/chromium; never run `playwright install`)")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OUTPUTS = ["dsr-model-input", "dsr-igen", "dsr-ispc", "dsr-heat", "dsr-mask"]   # elem_ids of the detection pictures


def find_chromium() -> str:
    "The Chromium executable ($CHROMIUM, else chromium on PATH); a RuntimeError saying how to install it if absent."
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path or not Path(path).is_file():
        raise RuntimeError(f"Chromium not found (looked at $CHROMIUM and PATH). Install it: {INSTALL}")
    try:
        import playwright  # noqa: F401
    except ImportError:
        raise RuntimeError(f"the playwright package is missing. Install it: {INSTALL}") from None
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shoot(url: str, image: str | Path, out: str | Path | None = None, width: int = 1400, height: int = 1000,
          timeout_s: float = 120) -> dict:
    "Open `url` in headless Chromium, upload `image`, wait for every detection picture; save a page screenshot to `out`."
    from playwright.sync_api import sync_playwright
    exe = find_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(url, wait_until="domcontentloaded", timeout=timeout_s * 1000)   # not networkidle: the
            upload = page.locator("#dsr-input input[type=file]")                    # page keeps a stream open
            upload.wait_for(state="attached", timeout=timeout_s * 1000)
            upload.set_input_files(str(image), timeout=timeout_s * 1000)
            for elem in OUTPUTS:                               # each picture arrives as an <img> with a loaded file
                page.wait_for_function(
                    "id => { const i = document.querySelector('#' + id + ' img');"
                    " return i && i.complete && i.naturalWidth > 0; }", arg=elem, timeout=timeout_s * 1000)
            page.wait_for_function("() => document.querySelector('#dsr-verdict textarea')?.value.length > 0",
                                   timeout=timeout_s * 1000)
            time.sleep(0.5)                                    # let the layout settle after the last image
            pictures = {e: page.locator(f"#{e} img").first.screenshot() for e in OUTPUTS}
            verdict = page.locator("#dsr-verdict textarea").input_value()
            status = page.locator("#dsr-status textarea").input_value()
            shot = page.screenshot(path=str(out) if out else None, full_page=True)
        finally:
            browser.close()
    return {"screenshot": shot, "pictures": pictures, "verdict": verdict, "status": status}


def shoot_playground(url: str, image: str | Path, out: str | Path, seed: int = 0, width: int = 1400,
                     height: int = 1000, timeout_s: float = 120) -> str:
    "Screenshot of the playground tab after injecting a Perlin anomaly (seed `seed`) into `image`; returns the report."
    from playwright.sync_api import sync_playwright
    ms = timeout_s * 1000
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(url, wait_until="domcontentloaded", timeout=ms)
            page.get_by_role("tab", name="Latent anomaly playground").click(timeout=ms)
            upload = page.locator("#dsr-pg-input input[type=file]")
            upload.wait_for(state="attached", timeout=ms)
            upload.set_input_files(str(image), timeout=ms)
            page.wait_for_function("() => { const c = document.querySelector('#dsr-editor canvas');"
                                   " return c && c.width > 0; }", timeout=ms)
            time.sleep(1.0)                                    # the pick event fills the editor
            page.get_by_label("Perlin seed").fill(str(seed))
            page.locator("#dsr-inject").click()
            page.wait_for_function("() => document.querySelector('#dsr-pg-report textarea')?.value.length > 0",
                                   timeout=ms)
            time.sleep(0.5)
            report = page.locator("#dsr-pg-report textarea").input_value()
            page.screenshot(path=str(out), full_page=True)
        finally:
            browser.close()
    return report


def upload_messages(url: str, bad: list, good: str | Path, timeout_s: float = 60) -> tuple[list[str], str]:
    """Press Detect with no image, then upload each file of `bad`: the error message the page shows for each; then
    upload `good` and return the verdict, to show that the app still answers."""
    from playwright.sync_api import sync_playwright
    ms = timeout_s * 1000
    messages = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url, wait_until="domcontentloaded", timeout=ms)
            upload = page.locator("#dsr-input input[type=file]")
            upload.wait_for(state="attached", timeout=ms)

            def message() -> str:
                toast = page.locator("[data-testid=toast-text]").first
                toast.wait_for(timeout=ms)
                text = toast.inner_text()
                page.locator("[data-testid=toast-close]").first.click()
                page.locator("[data-testid=toast-text]").first.wait_for(state="detached", timeout=ms)
                return text

            page.locator("#dsr-detect").click()                 # nothing uploaded yet
            messages.append(message())
            for f in bad:
                remove = page.locator("#dsr-input button[aria-label='Remove Image']")
                if remove.count() and remove.first.is_visible(): remove.first.click()
                upload.set_input_files(str(f), timeout=ms)
                messages.append(message())
            remove = page.locator("#dsr-input button[aria-label='Remove Image']")
            if remove.count() and remove.first.is_visible(): remove.first.click()
            upload.set_input_files(str(good), timeout=ms)
            page.wait_for_function("() => document.querySelector('#dsr-verdict textarea')?.value.length > 0",
                                   timeout=ms)
            verdict = page.locator("#dsr-verdict textarea").input_value()
        finally:
            browser.close()
    return messages, verdict


LAYOUT_JS = """() => {
  const W = document.documentElement.clientWidth, out = [];
  if (document.documentElement.scrollWidth > W + 1)
    out.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px on a ${W} px screen`);
  for (const el of document.querySelectorAll('body *')) {
    const st = getComputedStyle(el);
    if (st.display === 'none' || st.visibility === 'hidden' || !el.offsetParent) continue;
    const text = (el.value ?? el.textContent ?? '').trim();
    if (!text) continue;
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > W + 1 && el.children.length === 0)
      out.push(`past the right edge (${Math.round(r.right)} px): ${text.slice(0, 60)}`);
    const cut = st.textOverflow === 'ellipsis' || el.tagName === 'INPUT';
    if (cut && el.scrollWidth > el.clientWidth + 1)
      out.push(`cut off (${el.clientWidth} of ${el.scrollWidth} px): ${text.slice(0, 60)}`);
  }
  for (const lab of document.querySelectorAll('[data-testid="block-label"]')) {   // a panel title under its buttons
    const block = lab.closest('.block'), r = lab.getBoundingClientRect();
    if (!block || !lab.offsetParent) continue;
    for (const b of block.querySelectorAll('button.icon-button')) {            // fullscreen, download, clear
      const q = b.getBoundingClientRect();
      if (b.offsetParent && q.width > 0 && q.left < r.right - 1 && q.right > r.left + 1 &&
          q.top < r.bottom - 1 && q.bottom > r.top + 1)
        out.push(`covered by the ${b.getAttribute('aria-label') || 'icon'} button: ${lab.textContent.trim().slice(0, 60)}`);
    }
  }
  return [...new Set(out)];
}"""


def layout_problems(url: str, image: str | Path, width: int = 390, height: int = 844, out: str | Path | None = None,
                    timeout_s: float = 120) -> list[str]:
    """Open the demo on a screen `width` px wide (390: a phone), upload `image` and wait for the verdict; the texts
    that are cut off, stick out past the right edge or lie under a panel's buttons, and whether the page scrolls
    sideways, on both tabs ([] if none)."""
    from playwright.sync_api import sync_playwright
    ms = timeout_s * 1000
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height}, is_mobile=True, has_touch=True)
            page.goto(url, wait_until="domcontentloaded", timeout=ms)
            upload = page.locator("#dsr-input input[type=file]")
            upload.wait_for(state="attached", timeout=ms)
            upload.set_input_files(str(image), timeout=ms)
            page.wait_for_function("() => document.querySelector('#dsr-verdict textarea')?.value.length > 0",
                                   timeout=ms)
            time.sleep(0.5)
            problems = page.evaluate(LAYOUT_JS)
            if out: page.screenshot(path=str(out), full_page=True)
            page.get_by_role("tab", name="Latent anomaly playground").click(timeout=ms)    # the other tab's titles
            page.locator("#dsr-inject").wait_for(state="visible", timeout=ms)
            problems += [f"playground: {p}" for p in page.evaluate(LAYOUT_JS)]
        finally:
            browser.close()
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description="Screenshot of the DSR demo in headless Chromium.")
    ap.add_argument("--model", required=True, help="a DSR.save checkpoint folder (or a folder of them)")
    ap.add_argument("--image", required=True, help="the image to upload")
    ap.add_argument("--out", default="docs/demo.png", help="where to write the PNG (default docs/demo.png)")
    ap.add_argument("--playground-out", help="also a screenshot of the playground tab (a Perlin anomaly) here")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=1000)
    args = ap.parse_args(argv)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    find_chromium()                                            # fail before loading anything
    from dsr_nb.demo import launch_demo
    port = free_port()
    demo = launch_demo(model_dir=args.model, bundled=False, examples=[args.image], host="127.0.0.1", port=port,
                       prevent_thread_lock=True, quiet=True)
    try:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        res = shoot(f"http://127.0.0.1:{port}/", args.image, args.out, args.width, args.height)
        if args.playground_out:
            res["playground_report"] = shoot_playground(f"http://127.0.0.1:{port}/", args.image, args.playground_out,
                                                        width=args.width, height=args.height)
            print(f"wrote {args.playground_out}: {res['playground_report']!r}")
    finally:
        demo.close()
    print(f"wrote {args.out}: {res['verdict']} | {res['status']}")
    return res


if __name__ == "__main__":
    main()
