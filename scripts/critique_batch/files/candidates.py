"""A culture's candidates file (checkpoints/{culture}_expansion_candidates.json): loading it for
claims and status, and its signature. Entries are only ever appended (candidate_sources.py
creates and extends the file), which is what claims rely on."""

from __future__ import annotations

from pathlib import Path

from ..base.errors import InputError
from ..base.jsonfiles import read_json
from .workspace import Workspace


class Candidates:
    """A culture's candidates file as loaded: its images in order, each filepath's index, and the
    file's signature (candidates_sig) when it was read."""

    __slots__ = ("path", "images", "index_of", "sig")

    def __init__(self, path: Path, images: list[dict], index_of: dict[str, int], sig: str):
        self.path, self.images, self.index_of, self.sig = path, images, index_of, sig


def candidates_sig(path: Path) -> str | None:
    """The file's size and modification time (kept in progress: an unchanged file is not read again)."""
    return _sig(_stat(path))


def _stat(path: Path):
    try:
        return path.stat()
    except FileNotFoundError:
        return None


def _sig(st) -> str | None:
    return f"{st.st_size}:{st.st_mtime_ns}" if st is not None else None


def load_candidates(ws: Workspace, culture: str) -> Candidates:
    path = ws.candidates_path(culture)
    if not path.exists():
        raise InputError(
            f"no candidates file for {culture}; create it with add_candidates.py {culture} FOLDER_OR_MANIFEST",
            file=ws.display(path),
        )
    st = _stat(path)
    sig = _sig(st)
    # the inode and change time too: a file replaced, or edited in place within one clock tick
    key = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) if st is not None else None
    cached = _loaded.get(path)
    if cached is not None and key is not None and cached[0] == key:
        return cached[1]
    doc = read_json(path, "candidates")
    if doc["culture"] != culture:
        raise InputError(f"expected {culture!r} (the file name says so), got {doc['culture']!r}", file=path, where="culture")
    index_of: dict[str, int] = {}
    for i, img in enumerate(doc["images"]):
        fp = img["filepath"]
        if fp in index_of:
            raise InputError(f"duplicate filepath {fp!r} (also images[{index_of[fp]}])", file=path, where=f"images[{i}].filepath")
        index_of[fp] = i
    cands = Candidates(path, doc["images"], index_of, sig or "")
    if key is not None:
        _loaded[path] = (key, cands)
    return cands


# what this process loaded, by path: a collection and the claim after it (two sessions), or status
# and a session, parse the file once (about 10 ms for 5,000 images). Reused while the file's
# inode, size, modification and change times are unchanged; nothing changes a loaded Candidates.
_loaded: dict[Path, tuple[tuple[int, int, int, int], Candidates]] = {}
