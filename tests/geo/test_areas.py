"""AreaIndex against the acceptance figures, the brute-force reference, and itself (batch equals
one at a time)."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import shapely
from shapely.geometry import Point

from redcolor.errors import InputError, NotFoundError
from redcolor.geo import LocalFrame, load_areas

SEA = (32.1, 34.6)  # off Tel Aviv


def test_current_edition_acceptance_figures(areas) -> None:
    assert len(areas) == 1450 and areas.edition == "current"
    assert len({a.zone_he for a in areas.areas}) == 30
    assert len({a.zone_en for a in areas.areas}) == 30
    shelter = collections.Counter(a.shelter_s for a in areas.areas)
    assert shelter == {0: 2, 15: 138, 30: 126, 45: 139, 60: 170, 90: 875}
    assert sum(a.approximate for a in areas.areas) <= 1
    assert len({a.value for a in areas.areas}) == 1450


def test_2023_12_edition() -> None:
    old = load_areas("2023-12")
    assert len(old) == 1377 and old.edition == "2023-12"
    assert len({a.zone_he for a in old.areas}) == 30
    assert load_areas("2023-12") is old  # cached


def test_polygons_valid_and_centroids_sane(areas) -> None:
    geoms = np.array([a.polygon for a in areas.areas])
    assert shapely.is_valid(geoms).all() and not shapely.is_empty(geoms).any()
    assert set(shapely.get_type_id(geoms)) <= {3, 6}  # Polygon, MultiPolygon
    lat = np.array([a.lat for a in areas.areas])
    lon = np.array([a.lon for a in areas.areas])
    assert (lat > 29.4).all() and (lat < 33.4).all() and (lon > 34.2).all() and (lon < 35.95).all()
    assert np.array_equal(areas.ids, np.sort(areas.ids))


@pytest.mark.parametrize(
    ("lat", "lon", "name_en", "shelter_s"),
    [(32.08, 34.78, "Tel Aviv - City Center", 90), (31.525, 34.596, "Sderot, Ibim", 15)],
)
def test_locate_acceptance_points(areas, lat, lon, name_en, shelter_s) -> None:
    area = areas.locate(lat, lon)
    assert area is not None and area.name_en == name_en and area.shelter_s == shelter_s


def test_locate_in_the_sea_is_none(areas) -> None:
    assert areas.locate(*SEA) is None
    assert areas.locate_many([SEA[0]], [SEA[1]]).tolist() == [-1]


def _sample_points(areas, n_random: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random points over the country plus points near polygon vertices (boundary cases)."""
    rng = np.random.default_rng(seed)
    lat = rng.uniform(29.4, 33.4, n_random)
    lon = rng.uniform(34.2, 35.95, n_random)
    verts = shapely.get_coordinates(np.array([a.polygon for a in areas.areas]))
    pick = verts[rng.integers(0, len(verts), n_random)]
    jitter = rng.normal(0, 2e-4, pick.shape)
    cents = np.array([(a.lon, a.lat) for a in areas.areas])
    lon = np.concatenate([lon, pick[:, 0] + jitter[:, 0], pick[:, 0], cents[:, 0]])
    lat = np.concatenate([lat, pick[:, 1] + jitter[:, 1], pick[:, 1], cents[:, 1]])
    return lat, lon


def test_locate_many_equals_brute_force_reference(areas, ref) -> None:
    lat, lon = _sample_points(areas, 400, seed=11)
    got = areas.locate_many(lat, lon)
    want = [ref.locate_ref(areas.areas, a, b) for a, b in zip(lat, lon, strict=True)]
    assert got.tolist() == want
    assert (got >= 0).sum() > 500  # the sample really exercises the inside case


def test_locate_many_equals_one_at_a_time(areas) -> None:
    lat, lon = _sample_points(areas, 3000, seed=12)
    got = areas.locate_many(lat, lon)
    one = [(a.id if (a := areas.locate(x, y)) else -1) for x, y in zip(lat, lon, strict=True)]
    assert got.dtype == np.int64 and got.tolist() == one
    for x, y, area_id in zip(lat[:200], lon[:200], got[:200], strict=True):
        every = areas.locate_all(x, y)
        assert (area_id in every) if area_id >= 0 else every.size == 0


def test_locate_many_shapes_and_missing(areas) -> None:
    lat = np.array([[32.08, np.nan], [31.525, 95.0]])
    lon = np.array([[34.78, 34.78], [34.596, 34.0]])
    got = areas.locate_many(lat, lon)
    assert got.shape == (2, 2) and got[0, 1] == -1 and got[1, 1] == -1
    assert areas.get(int(got[0, 0])).name_en == "Tel Aviv - City Center"
    assert areas.locate_many(np.zeros(0), np.zeros(0)).shape == (0,)
    with pytest.raises(ValueError, match="shape"):
        areas.locate_many([1.0, 2.0], [1.0])


def test_overlapping_areas_pick_the_smallest(areas, ref) -> None:
    tree = shapely.STRtree([a.polygon for a in areas.areas])
    i, j = tree.query([a.polygon for a in areas.areas], predicate="overlaps")
    assert i.size > 0
    a, b = areas.areas[int(i[0])], areas.areas[int(j[0])]
    p = a.polygon.intersection(b.polygon).representative_point()
    smaller = min((a, b), key=lambda x: (x.polygon.area, x.id))
    assert areas.locate(p.y, p.x) in (smaller, None) or len(areas.locate_all(p.y, p.x)) > 2
    assert areas.locate_many([p.y], [p.x])[0] == ref.locate_ref(areas.areas, p.y, p.x)


def _ellipses(n: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        lat, lon = rng.uniform(31.0, 33.2), rng.uniform(34.6, 35.6)
        frame = LocalFrame(lat, lon)
        disc = Point(0, 0).buffer(1.0, quad_segs=16)
        ell = shapely.affinity.rotate(
            shapely.affinity.scale(disc, 5000.0, rng.uniform(500.0, 5000.0)), rng.uniform(0, 180)
        )
        out.append((frame, ell))
    return out


def test_meeting_equals_reference_and_batch(areas, ref) -> None:
    cases = _ellipses(40, seed=13)
    wgs = [frame.to_wgs84(ell) for frame, ell in cases]
    singles = [areas.meeting(g) for g in wgs]
    for g, got in zip(wgs, singles, strict=True):
        assert got.tolist() == ref.meeting_ref(areas.areas, g)
    batch = areas.meeting_many(wgs)
    assert [b.tolist() for b in batch] == [s.tolist() for s in singles]
    for (frame, ell), got in zip(cases, singles, strict=True):
        assert areas.meeting_local(ell, frame).tolist() == got.tolist()
    assert sum(s.size for s in singles) > 40


def test_meeting_around_meron(areas) -> None:
    frame = LocalFrame(32.996, 35.414)
    ids = areas.meeting_local(Point(0, 0).buffer(3000.0), frame)
    meron = areas.find("Meron")
    assert meron.id in ids
    assert areas.locate(32.996, 35.414) is None  # the summit itself is in no area


def test_nearest(areas, ref) -> None:
    inside = areas.nearest(32.08, 34.78)
    assert inside[0].name_en == "Tel Aviv - City Center" and inside[1] == 0.0
    area, dist_m = areas.nearest(*SEA)
    coast = [a for a in areas.areas if a.zone_en in ("Dan", "Yarkon", "Sharon")]
    brute = {a.id: ref.distance_ref_m(a, *SEA, step_m=100.0) for a in coast}
    assert area.id == min(brute, key=brute.__getitem__)
    assert dist_m == pytest.approx(ref.distance_ref_m(area, *SEA, step_m=5.0), abs=2.0)
    assert 5_000 < dist_m < 30_000


def test_within_m_equals_brute_force(areas, ref) -> None:
    lat, lon, radius_m = 32.996, 35.414, 4000.0
    got = areas.within_m(lat, lon, radius_m)
    frame = LocalFrame(lat, lon)
    disc = frame.to_wgs84(Point(0, 0).buffer(radius_m * 1.2))
    near = [a for a in areas.areas if a.polygon.intersects(disc)]
    want = sorted(a.id for a in near if ref.distance_ref_m(a, lat, lon, step_m=25.0) <= radius_m)
    # Sampling the boundary every 25 m can only overestimate, by well under 1 m here.
    assert got.tolist() == want
    assert areas.nearest(lat, lon)[0].id in got
    with pytest.raises(InputError):
        areas.within_m(lat, lon, -5.0)


def test_find_and_get(areas) -> None:
    for area in areas.areas:
        assert areas.find(area.value) is area and areas.find(f" {area.id} ") is area
    tlv = areas.find("tel aviv - city center")
    assert areas.find(str(tlv.id)) == tlv == areas.get(tlv.id)
    assert areas.find(tlv.value) == tlv and areas.find(tlv.name_ru.upper()) == tlv
    with pytest.raises(NotFoundError, match="close matches: Tel Aviv"):
        areas.find("Tel Aviv - City Centr")
    with pytest.raises(NotFoundError):
        areas.get(-7)
    with pytest.raises(InputError, match="names 2 areas"):
        areas.find("Kafr Misr")


def test_zone_areas(areas) -> None:
    dan = areas.zone_areas("dan")
    assert dan.size == 32 and all(areas.get(int(i)).zone_en == "Dan" for i in dan)
    assert areas.zone_areas("דן").tolist() == dan.tolist()
    with pytest.raises(NotFoundError, match="Gaza Envelope"):
        areas.zone_areas("Gaza Envelop")


def test_to_geojson(areas) -> None:
    doc = areas.to_geojson()
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 1450
    f = doc["features"][0]
    assert set(f["properties"]) == {
        "id",
        "value",
        "aliases",
        "shelter_s",
        "approximate",
        *(f"{k}_{lang}" for k in ("name", "zone") for lang in ("he", "en", "ar", "ru")),
    }
    assert shapely.geometry.shape(f["geometry"]).equals(areas.get(f["id"]).polygon)


def test_stats(areas) -> None:
    assert areas.stats() == {
        "edition": "current",
        "areas": 1450,
        "zones": 30,
        "with_polygon": 1449,
        "approximate": 1,
        "by_shelter_s": {"0": 2, "15": 138, "30": 126, "45": 139, "60": 170, "90": 875},
    }
    assert load_areas("2023-12").stats()["areas"] == 1377


def test_within_m_equals_exact_distances_on_random_points(areas) -> None:
    rng = np.random.default_rng(21)
    cents = np.array([(a.lat, a.lon) for a in areas.areas])
    points = cents[rng.integers(0, len(cents), 25)] + rng.normal(0, 0.03, (25, 2))
    for lat, lon in points:
        dist_m = areas.distances_m(lat, lon, areas.ids)
        for radius_m in (0.0, 150.0, 1500.0, 8000.0, 40_000.0):
            want = areas.ids[dist_m <= radius_m]
            assert areas.within_m(lat, lon, radius_m).tolist() == want.tolist()


@pytest.mark.parametrize("lat0", [0.0, 32.0, 60.0, 80.0])
@pytest.mark.parametrize("radius_m", [100.0, 5000.0, 200_000.0])
def test_within_m_rings_bracket_the_geodesic_circle(areas, lat0, radius_m) -> None:
    """The inscribed ring lies inside the circle and the circumscribed one outside, edges
    included (sampled finely, distances by pyproj's geodesic)."""
    from pyproj import Geod

    from redcolor.geo.areas import _RING_VERTICES as n

    geod, frame = Geod(ellps="WGS84"), LocalFrame(lat0, 35.0)
    inner = areas._ring(frame, radius_m * (1 - 1e-6))
    outer = areas._ring(frame, radius_m / np.cos(np.pi / n) * (1 + 1e-3))
    for ring, inside in ((inner, True), (outer, False)):
        xy = shapely.get_coordinates(shapely.segmentize(ring, radius_m / 111_000 / 100))
        d = geod.inv(np.full(len(xy), 35.0), np.full(len(xy), lat0), xy[:, 0], xy[:, 1])[2]
        assert (d <= radius_m).all() if inside else (d >= radius_m).all()


def test_polygons_lie_at_their_listed_points() -> None:
    """Every polygon is within 1 km of the point its source lists for the area (guards against
    a polygon keyed by a reused id, which once put Havat Eden 91 km away)."""
    import gzip
    import json

    from redcolor.geo.load import data_path

    for edition in ("current", "2023-12"):
        with gzip.open(data_path(edition)) as fh:
            doc = json.load(fh)
        index = load_areas(edition)
        far = [
            a["id"]
            for a in doc["areas"]
            if index.distances_m(a["listed_lat"], a["listed_lon"], [a["id"]])[0] > 1000.0
        ]
        assert far == [], edition
