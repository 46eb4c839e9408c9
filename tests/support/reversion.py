"""A copy of a wheel that says it is another version: what a package index of our own serves as
nightlies, release candidates, a newer transformers (torch_index.py, the venv tests).

The copy is written entry by entry: entries that do not change keep their compressed bytes as they
are, so a 190 MB torch wheel is copied in seconds where `wheel unpack` + `wheel pack` inflated and
deflated all of it (about 30 s here, per wheel). What changes: the .dist-info folder's name, the
`Version:` line of METADATA, torch/version.py (torch's own idea of its version), RECORD (the hashes
and sizes of what changed); a `broken` torch lacks torch/_dynamo (it installs, and fails the image's
check); an `unpublished` one needs a dependency no index has (as a nightly whose pytorch-triton was not
uploaded yet): its install fails in seconds, as such a nightly's does.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import re
import struct
import tempfile
import zipfile
from pathlib import Path

MISSING = "vercompare-test-unpublished==1.0"  # what a broken build needs and no index has
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # a zip local file header's fixed part (30 bytes)


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def reversion(wheel: Path, version: str, out_dir: Path, broken: bool = False, edits: dict | None = None,
              unpublished: bool = False) -> Path:
    """A copy of a wheel (torch's, or any) that says it is `version` (broken: lacks torch/_dynamo;
    unpublished: needs MISSING).
    edits: {entry name: function of its bytes -> the new bytes}, applied after the version's own
    (a slower build, another git hash: tests/support/torch_index.py:nightlies)."""
    edits = edits or {}
    out_dir.mkdir(parents=True, exist_ok=True)
    project, old = wheel.name.split("-")[:2]
    old = old.replace("%2B", "+")
    target = out_dir / wheel.name.replace(old, version)
    if target.exists():
        return target
    old_info, new_info = f"{project}-{old}.dist-info/", f"{project}-{version}.dist-info/"

    def renamed(name: str) -> str:
        return new_info + name[len(old_info):] if name.startswith(old_info) else name

    def edited(name: str, data: bytes) -> bytes | None:
        """The new content of an entry that changes (RECORD apart), else None."""
        if name == old_info + "METADATA":
            needs = b"\nRequires-Dist: " + MISSING.encode() if unpublished else b""
            return re.sub(rb"^Version: .*$", b"Version: " + version.encode() + needs, data, count=1, flags=re.M)
        if name == "torch/version.py":
            text = data.decode().replace(old, version).replace(old.split("+")[0], version.split("+")[0])
            data = text.encode()
        elif name not in edits:
            return None
        return edits[name](data) if name in edits else data

    dropped = ("torch/_dynamo/",) if broken else ()
    changed: dict[str, bytes] = {}
    fd, tmp = tempfile.mkstemp(prefix=".reversion-", suffix=".whl", dir=out_dir)
    os.close(fd)
    try:
        with zipfile.ZipFile(wheel) as zin, open(wheel, "rb") as raw, zipfile.ZipFile(tmp, "w") as zout:
            entries = [i for i in zin.infolist() if not i.filename.startswith(dropped)]
            record = next(i for i in entries if i.filename == old_info + "RECORD")
            for info in entries:
                if info is record:
                    continue
                name = renamed(info.filename)
                data = edited(info.filename, zin.read(info)) \
                    if info.filename.startswith((old_info, "torch/version")) or info.filename in edits else None
                if data is not None or name != info.filename:
                    content = data if data is not None else zin.read(info)
                    changed[name] = content
                    zout.writestr(zipfile.ZipInfo(name, info.date_time), content, zipfile.ZIP_DEFLATED)
                else:
                    _copy_raw(raw, info, zout)
            zout.writestr(zipfile.ZipInfo(new_info + "RECORD", record.date_time),
                          _record(zin.read(record), renamed, changed, dropped, new_info + "RECORD"),
                          zipfile.ZIP_DEFLATED)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 is not what a wheel file is
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _copy_raw(raw, info: zipfile.ZipInfo, zout: zipfile.ZipFile) -> None:
    """One entry, its compressed bytes copied as they are (no inflate, no deflate)."""
    raw.seek(info.header_offset)
    fields = _LOCAL_HEADER.unpack(raw.read(_LOCAL_HEADER.size))
    raw.seek(info.header_offset + _LOCAL_HEADER.size + fields[-2] + fields[-1])  # past the name and extra
    body = raw.read(info.compress_size)
    copy = zipfile.ZipInfo(info.filename, info.date_time)
    copy.compress_type, copy.CRC = info.compress_type, info.CRC
    copy.compress_size, copy.file_size = info.compress_size, info.file_size
    copy.external_attr, copy.create_system = info.external_attr, info.create_system
    copy.header_offset = zout.fp.tell()
    zout.fp.write(copy.FileHeader())
    zout.fp.write(body)
    zout.filelist.append(copy)
    zout.NameToInfo[copy.filename] = copy
    zout.start_dir = zout.fp.tell()  # where the central directory goes when the file is closed


def _record(text: bytes, renamed, changed: dict[str, bytes], dropped: tuple[str, ...], record_name: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in csv.reader(io.StringIO(text.decode())):
        if not row or row[0].startswith(dropped):
            continue
        name = renamed(row[0])
        if name == record_name:
            writer.writerow([name, "", ""])
        elif name in changed:
            writer.writerow([name, _record_hash(changed[name]), len(changed[name])])
        else:
            writer.writerow([name, *row[1:]])
    return out.getvalue().encode()
