"""The pages' shipped assets (issues 7 and 13): the live map and the operator console load only
local files, carry no inline script or style (their CSP forbids it), every element the console's
script looks up exists, vendored code is licensed, and the outline is sane."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import shapely
from shapely.geometry import shape

import redcolor.serve

STATIC = Path(redcolor.serve.__file__).resolve().parent / "static"
REGION = shapely.box(31.5, 28.0, 38.5, 35.0)  # lon/lat box scripts/build_web.py clips to


PAGES = ("index.html", "console.html")


@pytest.mark.parametrize("name", PAGES)
def test_the_page_references_only_files_of_its_own_origin(name):
    html = (STATIC / name).read_text()
    refs = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert refs, "no src/href found"
    for ref in refs:
        assert not re.match(r"^[a-z]+:|^//", ref) or ref == "data:,", ref
        if ref.startswith("/v1/"):  # a link to this server's API (the audit export)
            continue
        if not ref.startswith(("data:", "#")):
            assert (STATIC / ref).is_file(), f"{ref} is not shipped"
    csp = re.search(r'http-equiv="Content-Security-Policy"\s+content="([^"]*)"', html)
    assert csp and "default-src 'self'" in csp.group(1) and "connect-src 'self'" in csp.group(1)
    assert "script-src 'self'" in csp.group(1) and "style-src 'self'" in csp.group(1)
    assert "'unsafe-inline'" not in csp.group(1)


@pytest.mark.parametrize("name", PAGES)
def test_the_page_has_no_inline_script_or_style(name):
    """The CSP (script-src/style-src 'self') would block them: the page would silently break."""
    html = (STATIC / name).read_text()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert 'src="' in tag, f"inline script: {tag}"
    assert not re.findall(r"<script\b[^>]*>\s*[^<\s]", html), "a script element with a body"
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html), "a style attribute"
    assert not re.search(r"\son[a-z]+=", html), "an inline event handler"
    assert not re.search(r"javascript:", html)


def test_every_element_the_console_script_looks_up_exists():
    """console.js finds its elements by id: a misspelt or removed one would break the page at
    the moment an operator needs it, not at load."""
    html = (STATIC / "console.html").read_text()
    ids = set(re.findall(r'\sid="([^"]+)"', html))
    wanted = set(re.findall(r'\$\("([^"]+)"\)', (STATIC / "js" / "console.js").read_text()))
    assert wanted, "no lookups found"
    assert wanted <= ids, f"missing in console.html: {sorted(wanted - ids)}"
    # The elements the browser tests and the brief name (stable ids).
    assert {
        "mode-bar",
        "mode-words",
        "exercise-banner",
        "awaiting",
        "login-user",
        "login-password",
        "login-totp",
        "propose",
        "pending-list",
        "open-list",
        "audit-table",
        "audit-export",
        "preview",
        "zone",
        "area-search",
        "draw-start",
    } <= ids


def test_the_console_modules_import_only_shipped_modules():
    for script in (STATIC / "js").glob("*.js"):
        for ref in re.findall(r'from "([^"]+)"', script.read_text()):
            assert ref.startswith("./"), f"{script.name} imports {ref}"
            assert (script.parent / ref).is_file(), f"{script.name} imports missing {ref}"


def test_the_page_scripts_name_no_other_host():
    for script in (STATIC / "js").glob("*.js"):
        assert not re.search(r"https?://", script.read_text()), f"{script.name} names a host"


def test_vendored_code_carries_its_licence_and_version():
    assert "BSD" in (STATIC / "vendor" / "leaflet" / "LICENSE").read_text()
    assert (
        "Permission to use, copy, modify" in (STATIC / "vendor" / "world-atlas-LICENSE").read_text()
    )
    versions = json.loads((STATIC / "vendor" / "VERSIONS.json").read_text())
    assert set(versions) == {"leaflet@1.9.4", "world-atlas@2.0.2"}
    assert all(v["integrity"].startswith("sha512-") for v in versions.values())
    assert 't.version="1.9.4"' in (STATIC / "vendor" / "leaflet" / "leaflet.js").read_text()


def test_outline_covers_the_region_and_stays_inside_it():
    outline = json.loads((STATIC / "outline.geojson").read_text())
    assert outline["type"] == "FeatureCollection"
    names = {f["properties"]["name"] for f in outline["features"]}
    assert {"Israel", "Lebanon", "Jordan", "Egypt", "Syria"} <= names
    for feature in outline["features"]:
        geometry = shape(feature["geometry"])
        assert geometry.is_valid and not geometry.is_empty, feature["properties"]["name"]
        assert REGION.buffer(1e-6).covers(geometry), feature["properties"]["name"]
    israel = next(f for f in outline["features"] if f["properties"]["name"] == "Israel")
    # Tel Aviv is on land, and the Mediterranean off it is not.
    assert shape(israel["geometry"]).contains(shapely.Point(34.80, 32.08))
    assert not any(
        shape(f["geometry"]).contains(shapely.Point(34.50, 32.08)) for f in outline["features"]
    )
