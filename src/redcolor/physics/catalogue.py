"""The projectile catalogue: what can be fired, with where each number comes from.

Every entry carries a ``source`` (public figures it is built on) and ``assumptions`` (what this
model adds). Two numbers of each powered entry are *calibrated* rather than published: the
thrust is set so that the model reaches the stated burnout speed, and ``cd0`` (the
low-subsonic drag coefficient that multiplies the shared Mach shape of
:func:`redcolor.physics.ballistics.cd_shape`) is set so that the model's maximum range equals
the published one. ``checks`` lists the cited figures the tests hold the model to
(``tests/sim/test_range_table.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from redcolor.errors import ScenarioError

Kind = Literal["rocket", "mortar", "ballistic", "drone"]
Branch = Literal["low", "high"]


@dataclass(frozen=True)
class RangeCheck:
    """A cited figure for one shot: flight time and/or apogee bounds at a ground range."""

    range_m: float
    flight_time_s: tuple[float, float] | None
    apogee_m: tuple[float, float] | None
    source: str


@dataclass(frozen=True)
class Projectile:
    """One projectile type.

    Attributes
    ----------
    name, kind : str
    mass_kg : float
        Launch mass (with propellant).
    diameter_m : float
        Reference diameter for the drag area.
    cd0 : float
        Low-subsonic drag coefficient (multiplies the shared Mach shape).
    propellant_kg, burn_s, thrust_n : float
        Motor: propellant burnt at a constant rate over ``burn_s`` with constant thrust.
    launch_speed_m_s : float
        Speed on leaving the launcher (muzzle velocity for a mortar).
    guided_boost : bool
        Thrust along the fixed launch direction (ballistic missiles) instead of the velocity.
    elevation_deg : (float, float)
        Launch elevations the launcher can lay.
    default_trajectory : "low" or "high"
        Which of the two elevations reaching a range is used unless a salvo says otherwise.
    max_range_m : float
        Published maximum range (what ``cd0`` is calibrated to).
    danger_radius_m : float
        How close to an alert area an impact endangers it.
    step_s : float
        Integration step in the coast (half of it in the burn), seconds.
    aim_sigma_mrad, thrust_sigma, drag_sigma : float
        Dispersion: launch elevation/azimuth error (1-sigma, mrad), relative thrust and drag
        variation (1-sigma fractions), round to round.
    cruise_speed_m_s, cruise_agl_m, bank_deg : air-breathers only (kind ``drone``: one-way
        attack drones and cruise missiles, which fly waypoints): speed range, height above
        ground, and the bank angle of their level turns (turn radius ``v^2 / (g tan bank)``).
    """

    name: str
    kind: Kind
    description: str
    mass_kg: float
    diameter_m: float
    cd0: float
    propellant_kg: float
    burn_s: float
    thrust_n: float
    launch_speed_m_s: float
    guided_boost: bool
    elevation_deg: tuple[float, float]
    default_trajectory: Branch
    max_range_m: float
    danger_radius_m: float
    step_s: float
    aim_sigma_mrad: float
    thrust_sigma: float
    drag_sigma: float
    source: str
    assumptions: str
    checks: tuple[RangeCheck, ...] = ()
    cruise_speed_m_s: tuple[float, float] = (0.0, 0.0)
    cruise_agl_m: float = 0.0
    bank_deg: float = 0.0

    @property
    def area_m2(self) -> float:
        """Reference area ``pi d^2 / 4``, m^2."""
        return math.pi * self.diameter_m**2 / 4.0

    @property
    def dry_mass_kg(self) -> float:
        """Mass after burnout, kg."""
        return self.mass_kg - self.propellant_kg

    @property
    def beta_kg_m2(self) -> float:
        """Nominal ballistic coefficient after burnout, ``m / (cd0 A)``, kg/m^2."""
        return self.dry_mass_kg / (self.cd0 * self.area_m2) if self.cd0 > 0 else math.inf


_MLRS_ELEVATION = (1.0, 55.0)  # BM-21 launcher laying limits 0-55 degrees (public spec sheets)

CATALOGUE: dict[str, Projectile] = {
    p.name: p
    for p in (
        Projectile(
            name="rocket-107mm",
            kind="rocket",
            description="107 mm Type 63 artillery rocket",
            mass_kg=18.8,
            diameter_m=0.107,
            cd0=0.2173,
            propellant_kg=3.3,
            burn_s=0.8,
            thrust_n=7_910.0,
            launch_speed_m_s=25.0,
            guided_boost=False,
            elevation_deg=_MLRS_ELEVATION,
            default_trajectory="low",
            max_range_m=8_500.0,
            danger_radius_m=100.0,
            step_s=0.2,
            aim_sigma_mrad=4.0,
            thrust_sigma=0.006,
            drag_sigma=0.03,
            source="~8.5 km range, 1.2 kg explosive (JPost); 18.8 kg, 385 m/s top speed "
            "(Type 63 data as commonly published)",
            assumptions="burn 0.8 s, propellant 3.3 kg, burnout speed 385 m/s; thrust and cd0 "
            "calibrated to 385 m/s and 8.5 km; danger radius 100 m",
        ),
        Projectile(
            name="rocket-122mm",
            kind="rocket",
            description="122 mm Grad (9M22U / M-21OF) artillery rocket",
            mass_kg=66.0,
            diameter_m=0.122,
            cd0=0.3103,
            propellant_kg=20.45,
            burn_s=1.88,
            thrust_n=20_270.0,
            launch_speed_m_s=30.0,
            guided_boost=False,
            elevation_deg=_MLRS_ELEVATION,
            default_trajectory="low",
            max_range_m=20_400.0,
            danger_radius_m=150.0,
            step_s=0.2,
            aim_sigma_mrad=3.0,
            thrust_sigma=0.005,
            drag_sigma=0.03,
            source="66 kg, range 1.6-20.4 km, burn ~1.88 s, propellant 20.45 kg, warhead 18.4 "
            "kg (tech.wp.pl; vietnamnet; Russian spec text)",
            assumptions="burnout speed 690 m/s (REFERENCE point-mass model); thrust and cd0 "
            "calibrated to it and to 20.4 km; danger radius 150 m; dispersion gives a CEP of "
            "a few hundred metres at 20 km",
            checks=(
                RangeCheck(10_000.0, (16.0, 28.0), (300.0, 800.0), "REFERENCE model: 20 deg"),
                RangeCheck(15_500.0, (32.0, 48.0), (1_400.0, 2_400.0), "REFERENCE: 30 deg"),
                RangeCheck(19_000.0, (46.0, 68.0), (3_000.0, 4_800.0), "REFERENCE: 40 deg"),
            ),
        ),
        Projectile(
            name="rocket-122mm-extended",
            kind="rocket",
            description="122 mm extended-range rocket (Iranian/Chinese-made variants)",
            mass_kg=72.0,
            diameter_m=0.122,
            cd0=0.2679,
            propellant_kg=30.0,
            burn_s=2.5,
            thrust_n=22_730.0,
            launch_speed_m_s=30.0,
            guided_boost=False,
            elevation_deg=_MLRS_ELEVATION,
            default_trajectory="low",
            max_range_m=40_000.0,
            danger_radius_m=150.0,
            step_s=0.2,
            aim_sigma_mrad=3.0,
            thrust_sigma=0.005,
            drag_sigma=0.03,
            source="20-40 km range (JPost); ~100 s flight, ~12 km apogee at 40 km (REFERENCE, "
            "illustrative)",
            assumptions="72 kg, 30 kg propellant, 2.5 s burn, burnout speed 1000 m/s; thrust "
            "and cd0 calibrated to 1000 m/s and 40 km",
            checks=(RangeCheck(39_000.0, (80.0, 130.0), (8_000.0, 16_000.0), "REFERENCE"),),
        ),
        Projectile(
            name="qassam",
            kind="rocket",
            description="Qassam improvised rocket (Qassam-2/3 class)",
            mass_kg=50.0,
            diameter_m=0.15,
            cd0=0.206,
            propellant_kg=12.0,
            burn_s=1.5,
            thrust_n=11_610.0,
            launch_speed_m_s=20.0,
            guided_boost=False,
            elevation_deg=(5.0, 60.0),
            default_trajectory="low",
            max_range_m=10_000.0,
            danger_radius_m=100.0,
            step_s=0.2,
            aim_sigma_mrad=15.0,
            thrust_sigma=0.02,
            drag_sigma=0.05,
            source="6-12 km range; ~15 s of flight to Sderot (idf.il; StrategyPage; CBN 2012)",
            assumptions="150 mm, 50 kg, 12 kg propellant, 1.5 s burn, burnout 400 m/s, max "
            "range 10 km (middle of 6-12 km); improvised, so wide dispersion",
            checks=(RangeCheck(4_000.0, (10.0, 22.0), None, "~15 s to Sderot (CBN 2012)"),),
        ),
        Projectile(
            name="rocket-heavy-short",
            kind="rocket",
            description="Heavy short-range rocket (Burkan-like, oversized warhead)",
            mass_kg=550.0,
            diameter_m=0.40,
            cd0=0.1859,
            propellant_kg=120.0,
            burn_s=2.0,
            thrust_n=73_300.0,
            launch_speed_m_s=15.0,
            guided_boost=False,
            elevation_deg=(5.0, 60.0),
            default_trajectory="low",
            max_range_m=8_000.0,
            danger_radius_m=300.0,
            step_s=0.2,
            aim_sigma_mrad=15.0,
            thrust_sigma=0.02,
            drag_sigma=0.05,
            source="warhead 60-500 kg, usually <= 10 km (Al-Manar, An-Nahar via Ynet 2023-11-21)",
            assumptions="550 kg with a 300 kg warhead, 400 mm, 120 kg propellant, 2 s burn, "
            "burnout 300 m/s, max range 8 km; danger radius 300 m",
        ),
        Projectile(
            name="fajr-5",
            kind="rocket",
            description="Fajr-5 333 mm long-range artillery rocket",
            mass_kg=915.0,
            diameter_m=0.333,
            cd0=0.429,
            propellant_kg=380.0,
            burn_s=4.8,
            thrust_n=191_700.0,
            launch_speed_m_s=30.0,
            guided_boost=False,
            elevation_deg=_MLRS_ELEVATION,
            default_trajectory="low",
            max_range_m=75_000.0,
            danger_radius_m=250.0,
            step_s=0.2,
            aim_sigma_mrad=3.0,
            thrust_sigma=0.005,
            drag_sigma=0.03,
            source="333 mm, 6.48 m, ~75 km (IISS via dpa); 915 kg, 175 kg warhead (commonly "
            "published)",
            assumptions="380 kg propellant, 4.8 s burn, burnout 1250 m/s; thrust and cd0 "
            "calibrated to it and to 75 km; danger radius 250 m",
        ),
        Projectile(
            name="mortar-120mm",
            kind="mortar",
            description="120 mm mortar bomb, maximum charge",
            mass_kg=13.6,
            diameter_m=0.12,
            cd0=0.1219,
            propellant_kg=0.0,
            burn_s=0.0,
            thrust_n=0.0,
            launch_speed_m_s=318.0,
            guided_boost=False,
            elevation_deg=(45.0, 85.0),
            default_trajectory="high",
            max_range_m=7_200.0,
            danger_radius_m=100.0,
            step_s=0.2,
            aim_sigma_mrad=2.0,
            thrust_sigma=0.01,
            drag_sigma=0.02,
            source="120 mm mortar: 13.6 kg HE bomb, 318 m/s at maximum charge, ~7.2 km maximum "
            "range (US M120/M934 figures as commonly published)",
            assumptions="one charge only (the maximum); cd0 calibrated to 7.2 km; thrust_sigma "
            "here is the muzzle-velocity spread",
        ),
        Projectile(
            name="ballistic-mrbm",
            kind="ballistic",
            description="Medium-range ballistic missile (Shahab-3/Ghadr class)",
            mass_kg=17_500.0,
            diameter_m=1.25,
            cd0=0.25,
            propellant_kg=14_000.0,
            burn_s=110.0,
            thrust_n=369_400.0,
            launch_speed_m_s=5.0,
            guided_boost=True,
            elevation_deg=(30.0, 80.0),
            default_trajectory="low",
            max_range_m=1_800_000.0,
            danger_radius_m=500.0,
            step_s=0.5,
            aim_sigma_mrad=0.5,
            thrust_sigma=0.0005,
            drag_sigma=0.005,
            source="~10-12 minutes of flight to Israel (Ynet); 1,500-2,000 km class (Ghadr, "
            "17.5 t, 1.25 m, ~110 s burn, as commonly published)",
            assumptions="the whole body re-enters (no warhead separation); constant-attitude "
            "boost; thrust calibrated to a 1,800 km maximum range; guidance keeps the "
            "burnout-speed spread to 0.05%; 0.5% drag spread (re-entry drag dominates the "
            "miss: about 2-3 km at 1,600 km, of the order of published Shahab-3 CEP figures)",
            checks=(
                RangeCheck(
                    1_600_000.0,
                    (560.0, 780.0),
                    (200_000.0, 700_000.0),
                    "Ynet: 10-12 minutes; apogee bounds an assumption",
                ),
            ),
        ),
        Projectile(
            name="ballistic-mrbm-2000",
            kind="ballistic",
            description="Longer-range MRBM (Ghadr-110 / Emad / Houthi Palestine-2 class)",
            mass_kg=17_500.0,
            diameter_m=1.25,
            cd0=0.25,
            propellant_kg=14_000.0,
            burn_s=110.0,
            thrust_n=396_600.0,
            launch_speed_m_s=5.0,
            guided_boost=True,
            elevation_deg=(30.0, 80.0),
            default_trajectory="low",
            max_range_m=2_200_000.0,
            danger_radius_m=500.0,
            step_s=0.5,
            aim_sigma_mrad=0.5,
            thrust_sigma=0.0005,
            drag_sigma=0.005,
            source="Ghadr-110 ~1,950 km, Emad ~1,700 km, Kheibar Shekan ~1,450 km (CSIS "
            "Missile Threat); Houthi Palestine-2 claimed 2,150 km; missiles from Yemen reach "
            "Israel in about 10-12 minutes (Ynet; Times of Israel 2024-2025); about 120 "
            "ballistic missiles on 13-14 April 2024 and 180-200 on 1 October 2024 (IDF)",
            assumptions="the ballistic-mrbm airframe (17.5 t, 1.25 m, 110 s burn, whole body "
            "re-enters) with thrust calibrated to a 2,200 km maximum range, standing for every "
            "1,000-2,200 km type fired at Israel; Sanaa to Eilat is ~1,850 km",
            checks=(
                RangeCheck(
                    1_850_000.0,
                    (600.0, 780.0),
                    (250_000.0, 900_000.0),
                    "Yemen to Israel 10-12 minutes (Ynet, Times of Israel); apogee an assumption",
                ),
            ),
        ),
        Projectile(
            name="drone",
            kind="drone",
            description="One-way attack drone (slow, low, following waypoints)",
            mass_kg=200.0,
            diameter_m=0.5,
            cd0=0.0,
            propellant_kg=0.0,
            burn_s=0.0,
            thrust_n=0.0,
            launch_speed_m_s=0.0,
            guided_boost=False,
            elevation_deg=(0.0, 0.0),
            default_trajectory="low",
            max_range_m=2_000_000.0,
            danger_radius_m=100.0,
            step_s=0.5,
            aim_sigma_mrad=0.0,
            thrust_sigma=0.0,
            drag_sigma=0.0,
            cruise_speed_m_s=(40.0, 60.0),
            cruise_agl_m=200.0,
            bank_deg=30.0,
            source="slow, 40-60 m/s, low, following waypoints (issue 3); Shahed-136 class mass "
            "~200 kg as commonly published",
            assumptions="flies straight legs at a constant speed drawn from 40-60 m/s, 200 m "
            "above ground between waypoints, then dives onto its target; 30 degree bank in "
            "turns (636 m radius at 60 m/s)",
        ),
        Projectile(
            name="shahed-136",
            kind="drone",
            description="Shahed-136 one-way attack drone (Geran-2), launched in mass raids",
            mass_kg=200.0,
            diameter_m=0.5,
            cd0=0.0,
            propellant_kg=0.0,
            burn_s=0.0,
            thrust_n=0.0,
            launch_speed_m_s=0.0,
            guided_boost=False,
            elevation_deg=(0.0, 0.0),
            default_trajectory="low",
            max_range_m=2_000_000.0,
            danger_radius_m=100.0,
            step_s=0.5,
            aim_sigma_mrad=0.0,
            thrust_sigma=0.0,
            drag_sigma=0.0,
            cruise_speed_m_s=(45.0, 51.0),
            cruise_agl_m=150.0,
            bank_deg=30.0,
            source="~200 kg, ~40-50 kg warhead, top speed ~185 km/h (51 m/s), range up to "
            "~2,000-2,500 km, flies low (CSIS Missile Threat; Conflict Armament Research "
            "2022-2023 teardown reports); about 170 drones fired at Israel on 13-14 April 2024 "
            "(IDF via Times of Israel, 2024-04-14)",
            assumptions="cruises at 45-51 m/s (162-185 km/h), 150 m above ground; 30 degree "
            "bank; danger radius 100 m; the several-hour flight from Iran is not simulated "
            "(a raid starts at the edge of radar coverage)",
        ),
        Projectile(
            name="cruise-paveh",
            kind="drone",
            description="Land-attack cruise missile (Quds-1 / Paveh / Soumar class), turbojet",
            mass_kg=1_000.0,
            diameter_m=0.5,
            cd0=0.0,
            propellant_kg=0.0,
            burn_s=0.0,
            thrust_n=0.0,
            launch_speed_m_s=0.0,
            guided_boost=False,
            elevation_deg=(0.0, 0.0),
            default_trajectory="low",
            max_range_m=1_650_000.0,
            danger_radius_m=150.0,
            step_s=0.5,
            aim_sigma_mrad=0.0,
            thrust_sigma=0.0,
            drag_sigma=0.0,
            cruise_speed_m_s=(240.0, 260.0),
            cruise_agl_m=100.0,
            bank_deg=60.0,
            source="subsonic, ~900 km/h (250 m/s), terrain-following at tens to a few hundred "
            "metres, waypoints; Quds-1 ~700-800 km, Paveh ~1,650 km (CSIS Missile Threat; UN "
            "Panel of Experts on Yemen S/2020/326); about 30 cruise missiles fired at Israel on "
            "13-14 April 2024 (IDF via Times of Israel, 2024-04-14)",
            assumptions="cruises at 240-260 m/s, 100 m above ground; turns at 2 g (60 degree "
            "bank: 3.7 km radius at 260 m/s); ~1 t, danger radius 150 m",
        ),
    )
}


def get_projectile(name: str) -> Projectile:
    """The catalogue entry called ``name``; ScenarioError listing the choices otherwise."""
    try:
        return CATALOGUE[name]
    except KeyError:
        choices = ", ".join(sorted(CATALOGUE))
        raise ScenarioError(f"unknown projectile {name!r}; expected one of: {choices}") from None
