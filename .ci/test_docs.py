"""Open the docs built by .ci/build_docs.py in headless Chromium and check what a reader would see.

Every page: the page script ran and every image loaded (the build marks each <img> data-loaded="yes"/"no"
once the page has loaded); every sidebar link leads to a page. Home page: the text about CLAP and a figure.
The API page of `make_synth` (found through nbdev's symbol index): its show_doc heading, and a table listing
every parameter of the function as the package defines it, and a figure.
`python .ci/test_docs.py [--screenshots DIR]`; exits 1 on any failure.
"""
import ast, html as html_mod, re, shutil, subprocess, sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]
docs = root / '_docs'
MODULE, FUNC = 'synth', 'make_synth'  # a known exported function with parameters and a page with figures

def chromium():
    exe = next(filter(None, map(shutil.which, ('chromium', 'chromium-browser', 'google-chrome'))), None)
    if not exe: sys.exit('docs test FAILED: no chromium on PATH (apt-get install -y chromium)')
    return exe

def run(*args):
    # --no-sandbox: CI runs as root; the virtual time budget lets the load event and the page script run
    cmd = [chromium(), '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars',
           '--virtual-time-budget=10000', *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)

def dom(page): return run('--dump-dom', page.as_uri()).stdout

def params(module, func):
    "Parameter names of `func`, read from the exported source (no import of the package needed)."
    tree = ast.parse((root / 'clap_nbdev' / f'{module}.py').read_text())
    fn = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == func)
    a = fn.args
    return [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg] if p]

def main():
    results = []
    def check(name, ok, detail=''):
        results.append(ok)
        print(f'{"ok  " if ok else "FAIL"} {name}' + (f'  ({detail})' if detail and not ok else ''))

    home = docs / 'index.html'
    if not home.exists(): sys.exit('docs test FAILED: no _docs/index.html: run python .ci/build_docs.py first')
    from clap_nbdev._modidx import d  # nbdev's index: symbol -> 'page.html#anchor'
    url = d['syms'][f'clap_nbdev.{MODULE}'][f'clap_nbdev.{MODULE}.{FUNC}'][0]
    api_page, anchor = docs / url.split('#')[0], url.split('#')[1]

    pages = sorted(docs.rglob('*.html'))
    doms = {p: dom(p) for p in pages}
    for p, html in doms.items():
        name = p.relative_to(docs)
        imgs = re.findall(r'<img\b[^>]*>', html)
        check(f'{name}: page script ran', 'data-images-checked="yes"' in html)
        broken = [i[:80] for i in imgs if 'data-loaded="yes"' not in i]
        check(f'{name}: all {len(imgs)} images loaded', not broken, f'not loaded: {broken}')
        nav = re.search(r'<nav class="sidebar">(.*?)</nav>', html, re.S)
        links = re.findall(r'href="([^"]+)"', nav.group(1)) if nav else []
        missing = [l for l in links if not (p.parent / l).exists()]
        check(f'{name}: sidebar links all {len(links)} pages', len(links) == len(pages) and not missing, f'{links}')

    text = re.sub(r'<[^>]+>', ' ', re.sub(r'<(script|style)\b.*?</\1>', '', doms.get(home, ''), flags=re.S))
    check('home: says what CLAP is', 'CLAP' in text and 'Contrastive Language-Action Pre-training' in text)
    check('home: shows a figure', 'data-loaded="yes"' in doms.get(home, ''))
    # prose placeholders such as "foreground of <action>" must reach the reader as text, not vanish as unknown tags
    shown = html_mod.unescape(text)
    check('home: placeholders in the prose are shown', all(p in shown for p in ('"foreground of <action>"', '"background of <action>"')),
          'a <placeholder> outside a code span is read as an HTML tag: put it in backticks')

    html = doms.get(api_page, '')
    start = html.find(f'id="{anchor}"')
    check(f'{api_page.name}: show_doc heading #{anchor}', start >= 0)
    section = html[start:html.find('<hr', start) if html.find('<hr', start) > 0 else None] if start >= 0 else ''
    table = re.search(r'<table>.*?</table>', section, re.S)
    names = params(MODULE, FUNC)
    cells = re.findall(r'<td>(.*?)</td>', table.group(0)) if table else []
    check(f'{api_page.name}: show_doc table of {FUNC} lists its parameters {names}',
          bool(names) and all(n in cells for n in names), f'table cells: {cells[:12]}')
    check(f'{api_page.name}: shows a figure', 'data-loaded="yes"' in html)

    if '--screenshots' in sys.argv:
        out = Path(sys.argv[sys.argv.index('--screenshots') + 1]); out.mkdir(parents=True, exist_ok=True)
        for p, nm in ((home, 'home.png'), (api_page, 'api.png')):
            run(f'--screenshot={out / nm}', '--window-size=1280,2000', p.as_uri())
        print(f'screenshots in {out}')
    n_bad = results.count(False)
    print(f'docs test {"PASSED" if not n_bad else "FAILED"}: {len(results) - n_bad} passed, {n_bad} failed')
    sys.exit(1 if n_bad else 0)

if __name__ == '__main__': main()
