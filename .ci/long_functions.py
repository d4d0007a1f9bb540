"""Print every function of the exported package longer than a limit (default 40 lines), longest first,
and the package's line counts: lines over 120 characters and lines that join statements with `;`.
Usage: python .ci/long_functions.py [--limit 40] [--lib clap_nbdev]"""
import argparse, ast, io, tokenize
from pathlib import Path

def package_files(lib:Path):
    "The package's modules, without nbdev's generated index."
    return sorted(p for p in lib.glob('*.py') if p.name != '_modidx.py')

def long_functions(path:Path, limit:int):
    "`(lines, qualified name, first line)` of each function in `path` longer than `limit` lines, decorators excluded."
    out = []
    def visit(node, prefix=''):
        for child in ast.iter_child_nodes(node):
            name = f'{prefix}{getattr(child, "name", "")}'
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = child.end_lineno - child.lineno + 1
                if n > limit: out.append((n, name, child.lineno))
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): visit(child, name + '.')
    visit(ast.parse(path.read_text()))
    return out

def semicolon_lines(src:str) -> set:
    "Line numbers where `;` separates statements (tokens, so a `;` inside a string does not count)."
    return {t.start[0] for t in tokenize.generate_tokens(io.StringIO(src).readline) if t.type == tokenize.OP and t.string == ';'}

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--limit', type=int, default=40)
    ap.add_argument('--lib', default='clap_nbdev')
    args = ap.parse_args()
    rows, total, long_, semi = [], 0, 0, 0
    for p in package_files(Path(args.lib)):
        src = p.read_text()
        lines = src.splitlines()
        total, long_, semi = total + len(lines), long_ + sum(len(l) > 120 for l in lines), semi + len(semicolon_lines(src))
        rows += [(n, f'{p.stem}.{name}', f'{p}:{line}') for n, name, line in long_functions(p, args.limit)]
    for n, name, where in sorted(rows, reverse=True): print(f'{n:4d}  {name}  ({where})')
    print(f'{len(rows)} functions over {args.limit} lines; {long_} of {total} lines over 120 characters '
          f'({100 * long_ / total:.1f} %); {semi} lines with `;`')
