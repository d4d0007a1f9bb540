"""Build the docs site into _docs/ without quarto (`nbdev_docs` needs quarto, which cannot be installed here).

1. Refresh nbs/nbdev.yml and nbs/sidebar.yml with nbdev's own functions, as `nbdev_docs` does, so the
   quarto configuration stays in step with settings.ini and with the notebooks that exist.
2. Run nbdev's docs processors on each notebook (`FilterDefaults`, a fresh process per notebook, as
   `nbdev_proc_nbs` does): `#| hide`/export cells dropped, `show_doc` added after exported definitions,
   links to the API made. Two changes: show_doc gets a parameter table under its signature, and cells
   that mix imports with tests are not run (nbdev would run them) but reported. Nothing else runs; the
   saved outputs are used. Cached in _offline_proc/ until the notebook, the package's symbol index,
   settings.ini or this script changes.
3. Write one static HTML page per notebook (named as quarto names it), in sidebar.yml's order, with a
   sidebar, PNG outputs embedded, maths drawn by matplotlib, and images that markdown links to copied
   beside the pages.

`python .ci/build_docs.py`; exits 1, after writing what it could, when a notebook or an image has a problem.
"""
import ast, base64, hashlib, html, inspect, io, json, os, posixpath, re, shutil, sys, time, warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import yaml
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name

root = Path(__file__).resolve().parents[1]
_ansi = re.compile(r'\x1B(?:[@-Z\\-_]|\[[0-?]*[ -/]*[@-~])')

# --- step 2: nbdev's processors, one notebook per worker process -----------------------------------------

def param_table(sym):
    "Markdown table of the parameters of `sym` (type, default, docment), when it has docments."
    from fastcore.docments import docments
    try: dm = {k: v for k, v in docments(sym, full=True).items() if k not in ('self', 'return')}
    except Exception: return ''  # nothing to tabulate (an instance, a builtin)
    if not any(v.get('docment') for v in dm.values()): return ''
    empty = inspect.Parameter.empty
    bar = lambda s: s.replace('|', '\\|')  # a bare | would end the table cell (str | None)
    def code(o, anno):
        if o is empty: return ''
        s = o.__name__ if isinstance(o, type) or inspect.isroutine(o) else str(o) if anno else repr(o)
        return '`' + bar(s if len(s) <= 60 else s[:57] + '...') + '`'
    rows = [f"| {k} | {code(v['anno'], True)} | {code(v['default'], False)} | {bar(v.get('docment') or '')} |"
            for k, v in dm.items()]
    return '\n'.join(['| | **Type** | **Default** | **Details** |', '|--|--|--|--|', *rows])

def _add_param_table(renderer):
    "fastcore >= 1.8 puts docments in show_doc's signature only, as comments: add them as a table too."
    plain = renderer._repr_markdown_
    def _repr_markdown_(self):
        md, tbl = plain(self), param_table(self.sym)
        return md + f'\n\n{tbl}' if tbl and '**Details**' not in md else md
    renderer._repr_markdown_ = _repr_markdown_

def _skip_test_cells(processors, skipped):
    "nbdev runs, besides exports and show_doc, every cell that imports anything (tests too, with a mere warning): skip those."
    run_for_docs = processors._do_eval
    def _do_eval(cell):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            run = run_for_docs(cell)
        trees = cell.parsed_() if run else None
        if trees and not cell.directives_.keys() & {'export', 'exports', 'exporti', 'exec_doc'} and \
                processors._ast_contains(trees, (ast.Import, ast.ImportFrom)) and \
                processors._ast_contains(trees, (ast.Expr, ast.Assign)):
            skipped.append(cell.source.strip().splitlines()[0][:90]); return False
        return run
    processors._do_eval = _do_eval

def process(src, dst):
    "nbdev's docs processing of notebook `src` into `dst`; a list of problems, as text."
    os.chdir(root)  # get_config() finds settings.ini from here
    from nbdev import processors, serve_drv, showdoc
    _add_param_table(showdoc.BasicMarkdownRenderer)
    skipped, name = [], Path(src).name
    _skip_test_cells(processors, skipped)
    try: serve_drv.main((Path(src), Path(dst), processors.FilterDefaults))
    except Exception as e:
        lines = str(e).strip().splitlines()  # nbdev's message quotes the whole cell: keep its start
        msg = '\n    '.join(lines[:5] + (['...'] if len(lines) > 5 else []))
        cause = f'\n    {type(e.__cause__).__name__}: {e.__cause__}' if e.__cause__ else ''
        return [f'{name}: {msg}{cause}']
    return [f'{name}: a cell mixes imports with other code, so nbdev_docs would run it (skipped here; move its imports '
            f'to the import cell, STYLE.md): `{o}`' for o in skipped]

# --- step 3: HTML ----------------------------------------------------------------------------------------

def _code_html(code, lang='python'):
    try: lexer = get_lexer_by_name(lang or 'text')
    except Exception: lexer = get_lexer_by_name('text')
    return highlight(code, lexer, HtmlFormatter(nowrap=True))

md = MarkdownIt('commonmark', {'html': True, 'highlight': lambda code, lang, attrs:
                                f'<pre class="highlight"><code>{_code_html(code, lang)}</code></pre>'}
                ).enable(['table', 'strikethrough'])

def slug(text, seen):
    "Heading id as pandoc (quarto) makes it, so nbdev's `page.html#name` links land."
    s = re.sub(r'[^\w\s.-]', '', text.lower()).strip()
    s = re.sub(r'\s+', '-', s).lstrip('0123456789.-') or 'section'
    n = seen.count(s); seen.append(s)
    return f'{s}-{n}' if n else s

def tex_html(tex, display):
    "LaTeX maths as an SVG image drawn by matplotlib's mathtext (quarto's MathJax would need the network)."
    from matplotlib.font_manager import FontProperties
    from matplotlib.mathtext import math_to_image
    buf = io.BytesIO()
    try: math_to_image(f'${tex}$', buf, prop=FontProperties(size=15 if display else 12), format='svg')
    except Exception: return f'<code class="math">{html.escape(tex)}</code>'  # beyond mathtext: show the source
    img = f'<img class="math" alt="{html.escape(tex)}" src="data:image/svg+xml;base64,{base64.b64encode(buf.getvalue()).decode()}">'
    return f'<span class="math-display">{img}</span>' if display else img  # a span: it may sit inside a <p>

_code_or_math = re.compile(r'(```.*?```|`[^`\n]*`)|\$\$(.+?)\$\$|\$(?=\S)([^$\n]+?)(?<=\S)\$(?!\d)', re.S)

def md_html(text, toc, seen):
    "Markdown to HTML; quarto's `[txt](url){attrs}` links become <a>; $maths$ drawn; h2/h3 go into `toc`."
    text = re.sub(r'\[([^\]]+)\]\(([^)\s]+)\)\{([^}]*)\}', r'<a href="\2" \3>\1</a>', text)
    maths = []  # maths is taken out before markdown sees it (`_` and `\` mean other things there)
    def keep(m):
        if m.group(1): return m.group(1)
        maths.append(tex_html(m.group(2) or m.group(3), bool(m.group(2))))
        return f'MATHXX{len(maths) - 1}XX'
    text = _code_or_math.sub(keep, text)
    tokens = md.parse(text)
    for t, inline in zip(tokens, tokens[1:]):
        if t.type == 'heading_open':
            title = re.sub(r'[`*]', '', inline.content)
            t.attrSet('id', slug(title, seen))
            if t.tag in ('h2', 'h3'): toc.append((t.tag, t.attrGet('id'), title))
    return re.sub(r'MATHXX(\d+)XX', lambda m: maths[int(m.group(1))], md.renderer.render(tokens, md.options, {}))

def directives(src):
    "Quarto cell options (`#| key: value`) at the top of a cell, and the code without them."
    lines, opts = src.splitlines(), {}
    while lines and lines[0].startswith('#|'):
        k, _, v = lines.pop(0)[2:].partition(':')
        opts[k.strip()] = v.strip().strip('"')
    return opts, '\n'.join(lines).strip()

def output_html(o, toc, seen):
    text = lambda v: ''.join(v) if isinstance(v, list) else v
    if o['output_type'] == 'stream':
        return f'<div class="cell-output cell-output-stdout"><pre>{html.escape(_ansi.sub("", text(o["text"])))}</pre></div>'
    if o['output_type'] == 'error':
        tb = _ansi.sub('', '\n'.join(o.get('traceback', [])))
        return f'<div class="cell-output cell-output-error"><pre>{html.escape(tb)}</pre></div>'
    d = o.get('data', {})
    if 'text/markdown' in d: body = md_html(text(d['text/markdown']), toc, seen)
    elif 'text/html' in d: body = text(d['text/html'])
    elif 'image/png' in d: body = f'<img src="data:image/png;base64,{text(d["image/png"]).strip()}" alt="output">'
    elif 'image/svg+xml' in d: body = text(d['image/svg+xml'])
    elif 'text/plain' in d: body = f'<pre>{html.escape(text(d["text/plain"]))}</pre>'
    else: return ''
    return f'<div class="cell-output">{body}</div>'

def cell_html(c, toc, seen):
    src = ''.join(c.get('source', ''))
    if c['cell_type'] == 'markdown': return md_html(src, toc, seen)
    if c['cell_type'] != 'code': return ''
    opts, code = directives(src)
    if opts.get('include') == 'false': return ''
    parts = []
    if code and opts.get('echo') != 'false':
        block = f'<div class="sourceCode"><pre class="highlight"><code>{_code_html(code, c["metadata"].get("language", "python"))}</code></pre></div>'
        if 'code-fold' in opts:  # nbdev folds `#| exports` source, open when `show`
            block = f'<details{" open" if opts["code-fold"] == "show" else ""}><summary>{opts.get("code-summary", "Code")}</summary>{block}</details>'
        parts.append(block)
    if opts.get('output') != 'false': parts += [output_html(o, toc, seen) for o in c.get('outputs', [])]
    return f'<div class="cell">{"".join(parts)}</div>' if parts else ''

def frontmatter(cells):
    "The YAML that nbdev's FrontmatterProc puts in a first raw cell (title, description, output-file)."
    if cells and cells[0]['cell_type'] == 'raw':
        src = ''.join(cells[0]['source']).strip()
        if src.startswith('---'): return yaml.safe_load(src.strip('-')) or {}
    return {}

class Site:
    def __init__(self, cfg, nav):
        self.cfg, self.nav, self.errors = cfg, nav, []  # nav: (notebook path relative to nbs/, page, title) in order
        self.url = (cfg.doc_host + cfg.doc_baseurl).rstrip('/') + '/'
        self.pages = {nb: page for nb, page, _ in nav}

    def fix_links(self, body, nb, page):
        "Site URLs and .ipynb links to pages relative to `page`; local images copied into the site."
        rel = lambda target, frag: posixpath.relpath(target, posixpath.dirname(page) or '.') + (f'#{frag}' if frag else '')
        def fix(m):
            attr, url = m.group(1), html.unescape(m.group(2))
            path, _, frag = url.partition('#')
            if url.startswith(self.url): url = rel(path[len(self.url):] or 'index.html', frag)  # nbdev's API links
            elif re.match(r'^(\w+:|#|/)', url): pass
            elif path.endswith('.ipynb'):
                target = self.pages.get(posixpath.normpath(posixpath.join(posixpath.dirname(nb), path)))
                if target: url = rel(target, frag)
            elif attr == 'src': url = self.copy_asset(url, nb, page)
            return f'{attr}="{html.escape(url)}"'
        return re.sub(r'\b(href|src)="([^"]*)"', fix, body)

    def copy_asset(self, url, nb, page):
        f = (self.cfg.nbs_path / posixpath.dirname(nb) / url).resolve()
        if not f.is_file():
            self.errors.append(f'{nb}: image {url} not found'); return url
        rel = f.relative_to(self.cfg.nbs_path) if f.is_relative_to(self.cfg.nbs_path) else f.relative_to(root)
        dst = self.cfg.doc_path / rel
        dst.parent.mkdir(parents=True, exist_ok=True); shutil.copy2(f, dst)
        return posixpath.relpath(rel.as_posix(), posixpath.dirname(page) or '.')

    def write(self, nb, page, title, cells):
        toc, seen, fm = [], [], frontmatter(cells)
        body = ''.join(cell_html(c, toc, seen) for c in cells)
        body = self.fix_links(body, nb, page)
        up = posixpath.relpath('.', posixpath.dirname(page) or '.')
        link = lambda p: posixpath.relpath(p, posixpath.dirname(page) or '.')
        nav = ''.join(f'<li><a href="{link(p)}"{" class=active" if p == page else ""}>{html.escape(t)}</a></li>'
                      for _, p, t in self.nav)
        toc_html = ''.join(f'<li class="toc-{tag}"><a href="#{i}">{html.escape(t)}</a></li>' for tag, i, t in toc)
        desc = f'<p class="description">{md.renderInline(fm["description"])}</p>' if fm.get('description') else ''
        out = self.cfg.doc_path / page
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(TEMPLATE.format(title=html.escape(title), site=html.escape(self.cfg.title), up=up, nav=nav,
                                       toc=toc_html, desc=desc, body=body, home=link('index.html')))

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – {site}</title>
<link rel="stylesheet" href="{up}/site.css"><link rel="stylesheet" href="{up}/styles.css"></head>
<body><header><a href="{home}">{site}</a></header>
<nav class="sidebar"><ul>{nav}</ul></nav>
<main><h1 class="title">{title}</h1>{desc}{body}</main>
<aside class="toc"><b>On this page</b><ul>{toc}</ul></aside>
<script>// mark each image as loaded or not once the page is done, for .ci/test_docs.py
window.addEventListener('load', () => {{
  for (const img of document.images) img.dataset.loaded = img.complete && img.naturalWidth > 0 ? 'yes' : 'no';
  document.body.dataset.imagesChecked = 'yes';
}});</script>
</body></html>
"""

LAYOUT = """body { margin: 0; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; }
header { position: fixed; top: 0; left: 0; right: 0; height: 3rem; background: #2780e3; padding: 0 1.25rem; z-index: 2; }
header a { color: #fff; font-size: 1.25rem; line-height: 3rem; text-decoration: none; }
nav.sidebar { position: fixed; top: 3rem; bottom: 0; left: 0; width: 14rem; overflow-y: auto; padding: 1rem; border-right: 1px solid #e4e4e4; }
nav.sidebar ul, aside.toc ul { list-style: none; padding: 0; margin: 0; }
nav.sidebar li { margin: .3rem 0; }
nav.sidebar a, aside.toc a { color: #444; text-decoration: none; }
nav.sidebar a.active { color: #2780e3; font-weight: 600; }
main { margin: 3rem 16rem 0 16rem; padding: 1rem 2rem 4rem; max-width: 60rem; }
aside.toc { position: fixed; top: 3rem; right: 0; width: 14rem; bottom: 0; overflow-y: auto; padding: 1rem; font-size: 85%; }
aside.toc li.toc-h3 { padding-left: .8rem; }
@media (max-width: 70rem) { aside.toc { display: none; } main { margin-right: 0; } }
a { color: #2780e3; }
h1.title { margin-bottom: .25rem; }
pre { background: #f7f7f7; padding: .6rem .8rem; overflow-x: auto; border-radius: 4px; font-size: 85%; line-height: 1.4; }
code { font-family: SFMono-Regular, Menlo, Consolas, monospace; }
:not(pre) > code { background: #f3f3f3; padding: 0 .2rem; border-radius: 3px; font-size: 90%; }
table { border-collapse: collapse; margin: .75rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: .3rem .7rem; text-align: left; vertical-align: top; }
img { max-width: 100%; height: auto; }
hr { border: none; border-top: 1px solid #ddd; margin: 2rem 0 1rem; }
details > summary { cursor: pointer; color: #666; font-size: 90%; }
img.math { vertical-align: middle; }
.math-display { display: block; text-align: center; margin: 1rem 0; }
"""

# --- driver ----------------------------------------------------------------------------------------------

def sidebar_entries(contents):
    "Notebook paths (relative to nbs/) in sidebar.yml's order, sections flattened."
    for o in contents:
        if isinstance(o, str): yield o
        elif isinstance(o, dict):
            if 'href' in o: yield o['href']
            yield from sidebar_entries(o.get('contents', []))

def main():
    t0 = time.time()
    os.chdir(root)
    from nbdev.config import get_config
    from nbdev.quarto import nbdev_sidebar, refresh_quarto_yml
    cfg = get_config()
    refresh_quarto_yml()             # nbs/nbdev.yml from settings.ini; writes nbs/_quarto.yml only if missing
    nbdev_sidebar.__wrapped__()      # nbs/sidebar.yml from the notebooks present (skipped if custom_sidebar = True)
    sidebar = yaml.safe_load((cfg.nbs_path / 'sidebar.yml').read_text())
    nbs = [n for n in sidebar_entries(sidebar['website']['sidebar']['contents'])
           if n.endswith('.ipynb') and (cfg.nbs_path / n).exists()]

    # step 2, with a cache: a notebook is processed again when it, the package's symbol index (the API links),
    # settings.ini or this script changed; the package itself is exported from the notebooks
    cache = root / '_offline_proc'
    deps = [Path(__file__), cfg.config_file, cfg.lib_path / '_modidx.py']
    shared = hashlib.sha1(b''.join(p.read_bytes() for p in deps)).digest()
    key = lambda n: hashlib.sha1(shared + (cfg.nbs_path / n).read_bytes()).hexdigest()
    meta = lambda n: cache / f'{n}.json'  # {"key": ..., "problems": [...]}: problems are reported again while cached
    def cached(n):
        try: return json.loads(meta(n).read_text())['key'] == key(n)
        except (OSError, ValueError, KeyError): return False
    todo = [n for n in nbs if not cached(n)]
    if todo:
        print(f'processing {len(todo)} notebook(s) with nbdev: {" ".join(todo)}', flush=True)
        for n in todo: (cache / n).parent.mkdir(parents=True, exist_ok=True); (cache / n).unlink(missing_ok=True)
        # a fresh process per notebook: isolated, and IPython's shell replaces __main__ in the worker
        with ProcessPoolExecutor(min(2, len(todo)), mp_context=get_context('spawn'), max_tasks_per_child=1) as ex:
            for n, problems in zip(todo, ex.map(process, [cfg.nbs_path / n for n in todo], [cache / n for n in todo])):
                meta(n).write_text(json.dumps({'key': key(n), 'problems': problems}))
    errors = [e for n in nbs for e in json.loads(meta(n).read_text())['problems']]
    t1 = time.time()

    # step 3
    shutil.rmtree(cfg.doc_path, ignore_errors=True); cfg.doc_path.mkdir()
    done = {n: json.loads((cache / n).read_text())['cells'] for n in nbs if (cache / n).exists()}
    nav = []
    for n, cells in done.items():
        fm = frontmatter(cells)
        page = posixpath.join(posixpath.dirname(n), fm.get('output-file') or Path(n).stem + '.html')
        nav.append((n, page, fm.get('title') or Path(n).stem))
    site = Site(cfg, nav)
    for n, page, title in nav: site.write(n, page, title, done[n])
    (cfg.doc_path / 'site.css').write_text(LAYOUT + HtmlFormatter().get_style_defs('.highlight'))
    shutil.copy2(cfg.nbs_path / 'styles.css', cfg.doc_path / 'styles.css')
    errors += site.errors
    print(f'{len(nav)} pages written to {cfg.doc_path.relative_to(root)}/ '
          f'(nbdev processing {t1 - t0:.1f} s, HTML {time.time() - t1:.1f} s)')
    if errors:
        print(f'docs build FAILED: {len(errors)} problem(s)\n' + '\n'.join(f'- {e}' for e in errors))
        sys.exit(1)

if __name__ == '__main__': main()
