"""Times what a user would pick instead of hrport to read a spreadsheet.

    bench-baseline.py pandas FILE.csv       pandas.read_csv
    bench-baseline.py calamine FILE.xlsx    python-calamine, the first sheet

Prints the best of RUNS (default 5) wall-clock seconds of the read alone,
after the imports (the interpreter's start is not counted against it).
"""
import os
import sys
import time


def main():
    kind, path = sys.argv[1], sys.argv[2]
    runs = int(os.environ.get("RUNS", "5"))
    if kind == "pandas":
        import pandas

        def read():
            # As a user would call it (the figure the issue was measured with).
            return len(pandas.read_csv(path))
    elif kind == "calamine":
        from python_calamine import CalamineWorkbook

        def read():
            book = CalamineWorkbook.from_path(path)
            return len(book.get_sheet_by_index(0).to_python())
    else:
        sys.exit(f"unknown baseline {kind}")
    best = None
    for _ in range(runs):
        t = time.perf_counter()
        rows = read()
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
    print(f"{best:.6f} {rows}")


main()
