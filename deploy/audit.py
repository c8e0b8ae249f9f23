"""Known vulnerabilities in the pinned dependencies (pip-audit, against PyPI's advisory data).

`make lint` runs it, and says plainly what it could not check: where pypi.org cannot be
reached (an offline machine), or does not know a pinned version (a private mirror), that
is named, rather than passing in silence. Only a known vulnerability fails the build.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

ADVISORIES = "https://pypi.org/pypi/pip/json"  # the service pip-audit asks, by default


def main(requirements: str) -> int:
    try:
        urllib.request.urlopen(ADVISORIES, timeout=10).close()
    except (urllib.error.URLError, TimeoutError) as error:
        print(f"dependency audit SKIPPED: PyPI's advisory data cannot be reached ({error})")
        return 0
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--requirement",
        requirements,
        "--require-hashes",
        "--disable-pip",  # the pins are the truth: nothing is resolved
        "--progress-spinner",
        "off",
        "--format",
        "json",
    ]
    audit = subprocess.run(command, check=False, capture_output=True, text=True)  # noqa: S603
    try:
        dependencies = json.loads(audit.stdout)["dependencies"]
    except (ValueError, KeyError):
        print(audit.stdout + audit.stderr)
        return audit.returncode or 1
    skipped = sorted(d["name"] for d in dependencies if "skip_reason" in d)
    vulnerable = [d for d in dependencies if d.get("vulns")]
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
            print(f"{dependency['name']} {dependency['version']}: {vuln['id']} (fixed in {fixed})")
    audited = len(dependencies) - len(skipped)
    print(
        f"dependency audit: {audited} of {len(dependencies)} pinned packages checked, "
        f"{len(vulnerable)} with known vulnerabilities"
    )
    if skipped:
        print(
            f"NOT CHECKED ({len(skipped)}): PyPI's advisory data does not know these versions: "
            + ", ".join(skipped)
        )
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
