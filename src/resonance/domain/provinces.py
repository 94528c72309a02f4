"""The 31 provincial-level divisions (closed list) a province or region must name (pure)."""

from __future__ import annotations

from resonance.domain.errors import UnknownRegion

PROVINCES: tuple[str, ...] = (
    "Beijing",
    "Tianjin",
    "Hebei",
    "Shanxi",
    "Inner Mongolia",
    "Liaoning",
    "Jilin",
    "Heilongjiang",
    "Shanghai",
    "Jiangsu",
    "Zhejiang",
    "Anhui",
    "Fujian",
    "Jiangxi",
    "Shandong",
    "Henan",
    "Hubei",
    "Hunan",
    "Guangdong",
    "Guangxi",
    "Hainan",
    "Chongqing",
    "Sichuan",
    "Guizhou",
    "Yunnan",
    "Tibet",
    "Shaanxi",
    "Gansu",
    "Qinghai",
    "Ningxia",
    "Xinjiang",
)

_BY_KEY = {p.lower().replace(" ", ""): p for p in PROVINCES}


def check_province(value: str, *, what: str = "province") -> str:
    """Return the canonical name of ``value`` (case and spaces ignored).

    Raises
    ------
    UnknownRegion
        (RES-190) when ``value`` is not one of the 31 provincial-level divisions.
    """
    found = _BY_KEY.get(value.strip().lower().replace(" ", ""))
    if found is None:
        raise UnknownRegion(
            f"unknown {what} {value.strip()!r}: use one of the 31 provincial-level divisions "
            f"({', '.join(PROVINCES)})",
            field=what,
            value=value,
        )
    return found
