"""DSR anomaly detection demo: `python app.py [--models DIR] [--official DIR] [--port N]`; the Hugging Face Space entry.

The app is built by dsr_nb (nbs/15_serving.ipynb and nbs/15a_demo.ipynb → dsr_nb/serving.py, dsr_nb/demo.py); this file only launches it. In the Space folder
made by build_space.py, dsr_nb sits next to this file; in the repository it is the installed package.
"""
import sys
from pathlib import Path

try:
    import dsr_nb  # noqa: F401
except ImportError:                                    # a repository checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dsr_nb.demo import main

if __name__ == "__main__":
    main()
