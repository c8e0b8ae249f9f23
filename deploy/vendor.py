"""Fetch the editor's browser parts from npm into src/api/ui/static/vendor/ (`make vendor`).

They ship inside the package, so nothing is fetched at run or test time: this runs only when
a part is upgraded. It rewrites vendor.json (each file's package, version and sha256), which a
test holds the files to.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

VENDOR = Path(__file__).parents[1] / "src" / "api" / "ui" / "static" / "vendor"
MANIFEST = VENDOR / "vendor.json"

# npm package -> (the versions taken, {file in the package: where it goes under VENDOR}).
PARTS: dict[str, tuple[str, dict[str, str]]] = {
    "htmx.org": (
        "^2",
        {"dist/htmx.min.js": "htmx/htmx.min.js", "LICENSE": "htmx/LICENSE"},
    ),
    "codemirror": (
        "^5",
        {
            "lib/codemirror.js": "codemirror/codemirror.js",
            "lib/codemirror.css": "codemirror/codemirror.css",
            "mode/yaml/yaml.js": "codemirror/mode/yaml/yaml.js",
            "LICENSE": "codemirror/LICENSE",
        },
    ),
}


def fetch(package: str, versions: str, into: Path) -> tuple[str, Path]:
    """The newest release of `package` within `versions`, unpacked: (its version, its root)."""
    # npm from PATH, on a fixed command: the package names are this file's own.
    command = ["npm", "pack", f"{package}@{versions}", "--json", "--pack-destination", str(into)]
    answer = subprocess.run(command, check=True, capture_output=True, text=True)  # noqa: S603
    packed = json.loads(answer.stdout)[0]
    with tarfile.open(into / packed["filename"]) as archive:
        archive.extractall(into / package, filter="data")
    return packed["version"], into / package / "package"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    manifest: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for package, (versions, files) in PARTS.items():
            version, root = fetch(package, versions, Path(scratch))
            for source, target in files.items():
                destination = VENDOR / PurePosixPath(target)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(root / PurePosixPath(source), destination)
                manifest[target] = {
                    "package": package,
                    "version": version,
                    "sha256": sha256(destination),
                }
            print(f"{package} {version}: {len(files)} files")
    MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
