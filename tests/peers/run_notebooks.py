"""Execute every notebook in notebooks/ against a run folder (nbclient); a cell that raises fails.

    python tests/peers/run_notebooks.py RUN_DIR
"""
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

run = Path(sys.argv[1]).resolve()
os.environ["THEMESHIFT_RUN"] = str(run)
os.environ.setdefault("MPLBACKEND", "Agg")
folder = Path(__file__).resolve().parents[2] / "notebooks"
passed, failed = 0, 0
for path in sorted(folder.glob("*.ipynb")):
    notebook = nbformat.read(path, as_version=4)
    try:
        NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
        cells = sum(c.cell_type == "code" for c in notebook.cells)
        print(f"{path.name}: {cells} code cells ran against {run}")
        passed += 1
    except Exception as error:  # nbclient raises CellExecutionError with the cell and traceback
        print(f"{path.name}: FAILED\n{error}")
        failed += 1
print(f"notebooks: {passed} passed, {failed} failed")
sys.exit(1 if failed or not passed else 0)
