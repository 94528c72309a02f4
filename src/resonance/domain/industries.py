"""The 20 key industries of the 2026 action and the action's numbers."""

from __future__ import annotations

INDUSTRIES: dict[str, str] = {
    "steel": "Steel",
    "petrochemicals": "Petrochemicals",
    "non-ferrous-metals": "Non-ferrous metals",
    "building-materials": "Building materials",
    "industrial-machinery": "Industrial machinery",
    "automobiles": "Automobiles",
    "medical-equipment": "Medical equipment",
    "power-equipment": "Power equipment",
    "ships": "Ships",
    "aerospace": "Aerospace",
    "home-furnishings": "Home furnishings",
    "pharmaceuticals": "Pharmaceuticals",
    "biomanufacturing": "Biomanufacturing",
    "historical-classics": "Historical classics",
    "electronic-components": "Electronic components",
    "consumer-electronics": "Consumer electronics",
    "new-displays": "New displays",
    "software": "Software",
    "information-and-communication": "Information and communication",
    "cybersecurity": "Cybersecurity",
}
