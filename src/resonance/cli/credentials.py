"""The CLI's stored credentials: an organization's API token per space, in a user file.

``resonance login`` stores a token here (the file and its folder are the user's
only: modes 0600 and 0700, written atomically); ``RESONANCE_TOKEN`` gives one for
a single command instead. The file maps a space's folder to ``{organization:
token}`` (a remote space, ``resonance --remote URL``, by its URL). Its path is
``$RESONANCE_CONFIG``, else
``$XDG_CONFIG_HOME/resonance/credentials.json``, else
``~/.config/resonance/credentials.json``. A file other users can read is refused.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path

from resonance.domain.errors import InvalidInput

TOKEN_ENV = "RESONANCE_TOKEN"


def config_path() -> Path:
    """Where the credentials file is (it may not exist yet)."""
    if os.environ.get("RESONANCE_CONFIG"):
        return Path(os.environ["RESONANCE_CONFIG"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "resonance" / "credentials.json"


def space_key(space_path: Path) -> str:
    """How the file names a space: its folder's absolute path."""
    return str(Path(space_path).resolve())


def remote_key(url: str) -> str:
    """How the file names a remote space: its URL, scheme and host lower-cased, no final ``/``."""
    url = url.strip().rstrip("/")
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


def _key(where: Path | str) -> str:
    return remote_key(where) if isinstance(where, str) else space_key(where)


def _load(path: Path) -> dict[str, dict[str, str]]:
    if not path.exists():
        return {}
    if stat.S_IMODE(path.stat().st_mode) & 0o077:  # as ssh does with a private key
        raise InvalidInput(
            f"the credentials file {path} can be read by other users: `chmod 600 {path}` "
            "(and consider revoking its tokens)",
            path=str(path),
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read the credentials file {path}: {exc}") from exc
    spaces = data.get("spaces") if isinstance(data, dict) else None
    if not isinstance(spaces, dict):
        raise InvalidInput(f"the credentials file {path} has no 'spaces' object")
    return {
        str(k): {str(o): str(t) for o, t in v.items()}
        for k, v in spaces.items()
        if isinstance(v, dict)
    }


def _save(path: Path, spaces: dict[str, dict[str, str]]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".credentials-", dir=path.parent)  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"spaces": spaces}, out, indent=2, sort_keys=True)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def stored_tokens(where: Path | str) -> dict[str, str]:
    """The stored tokens for a space (its folder, or a remote space's URL), by organization."""
    return dict(_load(config_path()).get(_key(where), {}))


def store_token(where: Path | str, organization: str, token: str) -> Path:
    """Store ``organization``'s token for a space (its folder, or a remote space's URL),
    replacing an older one; the file's path."""
    path = config_path()
    spaces = _load(path)
    spaces.setdefault(_key(where), {})[organization] = token
    _save(path, spaces)
    return path


def forget(where: Path | str, organization: str | None = None) -> list[str]:
    """Remove a space's (folder's or URL's) stored token of ``organization`` (every one when
    None); who was removed."""
    path = config_path()
    spaces = _load(path)
    mine = spaces.get(_key(where), {})
    gone = sorted(mine) if organization is None else [o for o in mine if o == organization]
    for org in gone:
        del mine[org]
    if gone:
        if not mine:
            spaces.pop(_key(where), None)
        _save(path, spaces)
    return gone
