"""Write README.md from nbs/index.ipynb (nbdev_readme needs quarto, which cannot be installed here).

Markdown cells are copied; visible code cells become ```python blocks; `#| hide` cells are left out.
`--check` exits 1 when README.md is not what this script would write.
"""
import json, sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]

def render(nb_path=root / 'nbs' / 'index.ipynb'):
    cells = json.loads(nb_path.read_text())['cells']
    parts = []
    for c in cells:
        src = ''.join(c['source']).strip()
        if c['cell_type'] == 'markdown': parts.append(src)
        elif c['cell_type'] == 'code':
            lines = src.splitlines()
            if any(l.replace(' ', '').startswith('#|hide') for l in lines): continue
            code = '\n'.join(l for l in lines if not l.startswith('#|')).strip()
            if code: parts.append(f'```python\n{code}\n```')
    # the notebook lives in nbs/, the README at the top: re-root relative links to figures
    text = ('\n\n'.join(parts) + '\n').replace('](../figures/', '](figures/')
    return '<!-- generated from nbs/index.ipynb by .ci/readme.py: edit the notebook, not this file -->\n\n' + text

if __name__ == '__main__':
    want, readme = render(), root / 'README.md'
    if '--check' in sys.argv:
        if readme.read_text() != want:
            sys.exit('README.md differs from nbs/index.ipynb: run `python .ci/readme.py`')
        print('README.md is in step with nbs/index.ipynb')
    else:
        readme.write_text(want)
