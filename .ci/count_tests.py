"""Run the test command given as arguments (nbdev_test), stream its output, and close with
'N passed, N failed' counting notebooks, since nbdev_test itself prints only 'Success.'."""
import re, subprocess, sys
from pathlib import Path

def tested_notebooks(nbs=Path('nbs')):
    "The notebooks nbdev_test runs: none whose name or folder starts with '_' or '.'."
    return sorted(p for p in nbs.rglob('*.ipynb')
                  if not any(part.startswith(('_', '.')) for part in p.relative_to(nbs).parts))

if __name__ == '__main__':
    nbs = tested_notebooks()
    proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = []
    for line in proc.stdout:
        print(line, end='', flush=True); out.append(line)
    rc = proc.wait()
    text = ''.join(out)
    failed = set()
    if 'Tests Failed On The Following Notebooks' in text:
        tail = text.split('Tests Failed On The Following Notebooks')[-1]
        failed = {p for p in nbs if p.name in tail}
    if rc != 0 and not failed: failed = set(nbs)  # crashed before naming notebooks: count all as failed
    print(f'{len(nbs) - len(failed)} passed, {len(failed)} failed')
    sys.exit(rc)
