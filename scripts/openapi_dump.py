"""Print the application's OpenAPI document as sorted JSON (the input of the typed web client).

No server and no database: the document is built from the routes alone
(`create_app().openapi()`), with the development settings and no `TELEMED_*` variable of
the caller's environment, so the same sources always give the same bytes.
Used by `bash scripts/frontend.sh openapi` (docs/frontend.md, *Typed API client*).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Write the document to stdout (or to the path given as the only argument)."""
    for name in [n for n in os.environ if n.startswith("TELEMED_")]:
        del os.environ[name]
    os.environ["TELEMED_ENV"] = "development"
    sys.path.insert(0, str(ROOT))  # this checkout's code, not an installed copy
    from telemed.app import create_app

    spec = create_app().openapi()
    text = json.dumps(spec, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
