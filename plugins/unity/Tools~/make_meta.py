"""Writes the Unity .meta files of the com.merg.sdk package.

A package installed from a git URL is immutable: Unity does not create .meta files for it
and ignores every asset (scripts included) that has none. So the package ships one per
file and folder. GUIDs are derived from the package path, so they are stable and the
same on every machine; existing .meta files are never rewritten.

    python "plugins/unity/Tools~/make_meta.py"          # add missing .meta files
    python "plugins/unity/Tools~/make_meta.py" --check  # fail on missing or orphaned ones

Unity skips names that start with "." or end with "~" (Samples~, Tools~, .build): they
get no .meta.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
PACKAGE_NAME = "com.merg.sdk"

# Unity writes these fields with a space after the colon; so do we.
IMPORTER_FIELDS = "".join(
    line + "\n"
    for line in (
        "  externalObjects: {}",
        "  userData: ",
        "  assetBundleName: ",
        "  assetBundleVariant: ",
    )
)

MONO_IMPORTER = (
    "MonoImporter:\n"
    "  externalObjects: {}\n"
    "  serializedVersion: 2\n"
    "  defaultReferences: []\n"
    "  executionOrder: 0\n"
    "  icon: {instanceID: 0}\n"
    "  userData: \n"
    "  assetBundleName: \n"
    "  assetBundleVariant: \n"
)

TEXT_SUFFIXES = {".md", ".txt", ".json", ".xml", ".yaml", ".yml", ".csv", ".bytes", ".html"}


def ignored(path: Path) -> bool:
    relative = path.relative_to(PACKAGE)
    return any(part.startswith(".") or part.endswith("~") for part in relative.parts)


def guid(path: Path) -> str:
    relative = path.relative_to(PACKAGE).as_posix()
    return hashlib.md5(f"{PACKAGE_NAME}/{relative}".encode()).hexdigest()


def meta_text(path: Path) -> str:
    head = f"fileFormatVersion: 2\nguid: {guid(path)}\n"
    if path.is_dir():
        return head + "folderAsset: yes\nDefaultImporter:\n" + IMPORTER_FIELDS
    if path.name == "package.json" and path.parent == PACKAGE:
        return head + "PackageManifestImporter:\n" + IMPORTER_FIELDS
    if path.suffix == ".cs":
        return head + MONO_IMPORTER
    if path.suffix == ".asmdef":
        return head + "AssemblyDefinitionImporter:\n" + IMPORTER_FIELDS
    if path.suffix in TEXT_SUFFIXES:
        return head + "TextScriptImporter:\n" + IMPORTER_FIELDS
    return head + "DefaultImporter:\n" + IMPORTER_FIELDS


def assets() -> list[Path]:
    return sorted(
        p
        for p in PACKAGE.rglob("*")
        if p != PACKAGE and not ignored(p) and not p.name.endswith(".meta")
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report instead of writing")
    args = parser.parse_args()
    wanted = assets()
    missing = [p for p in wanted if not Path(f"{p}.meta").is_file()]
    orphans = sorted(
        m
        for m in PACKAGE.rglob("*.meta")
        if not ignored(m) and not Path(str(m)[: -len(".meta")]).exists()
    )
    if args.check:
        for path in missing:
            print(f"missing: {path.relative_to(PACKAGE)}.meta", file=sys.stderr)
        for meta in orphans:
            print(f"orphaned: {meta.relative_to(PACKAGE)}", file=sys.stderr)
        if missing or orphans:
            print('fix with: python "plugins/unity/Tools~/make_meta.py"', file=sys.stderr)
            return 1
        print(f"{len(wanted)} assets, every one with a .meta")
        return 0
    for path in missing:
        Path(f"{path}.meta").write_text(meta_text(path))
    for meta in orphans:
        meta.unlink()
    print(f"wrote {len(missing)} .meta files, removed {len(orphans)} orphans")
    return 0


if __name__ == "__main__":
    sys.exit(main())
