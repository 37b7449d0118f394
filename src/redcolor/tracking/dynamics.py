"""Motion models and the batched EKF prediction step.

Ballistic tracks follow the simulator's coast physics (gravity + drag with the estimated
ballistic coefficient) through an ``AccelModel``; drone tracks follow a nearly-constant-velocity
model. The ballistic transition ``f`` is integrated with classical Runge-Kutta (RK4) in steps
of at most ``max_step_s``; its Jacobian is the second-order expansion of ``exp(A dt)`` with
``A = d(dx/dt)/dx`` taken by forward differences of the same acceleration function, so the
EKF linearises exactly the physics it propagates, including the Mach-dependent drag.

Prediction (per track ``i``)::

    x_i <- f(x_i, dt)
    P_i <- F_i P_i F_i^T + Q_i(dt)

``Q`` is continuous white-noise acceleration of spectral density ``q`` (m^2/s^3) on each
axis, ``q [[dt^3/3, dt^2/2], [dt^2/2, dt]]``, plus a random walk ``q_ln_beta dt`` on ln(beta).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from redcolor.tracking.state import KIND_DRONE, LN_BETA, POS, STATE_DIM, VEL

F64 = NDArray[np.float64]


class AccelModel(Protocol):
    """Acceleration of a coasting projectile, vectorised: (N, 3) m/s^2 in the common ENU frame."""

    def __call__(self, pos_enu_m: F64, vel_enu_m_s: F64, beta_kg_m2: F64) -> F64: ...


@dataclass(frozen=True)
class PredictorSettings:
    """Process-noise and integration settings (all process-noise levels are assumptions).

    Attributes
    ----------
    q_ballistic_m2_s3 : float
        Unmodelled acceleration of a coasting projectile (drag-curve mismatch, unknown wind:
        5 m/s of wind on a Grad is ~0.1-0.3 m/s^2 of unmodelled drag).
    q_boost_m2_s3, boost_hits : float, int
        Noise for a track's first ``boost_hits`` plots (the initiating pair counts 2). The
        default makes it equal to the coast noise, i.e. the tracker *initiates after
        burnout*: a plot pair taken under thrust (a 122 mm Grad gains ~690 m/s in ~1.9 s,
        ~370 m/s^2) predicts badly, misses its next plots and is dropped within two scans,
        and the pair formed just after burnout confirms. Covering thrust instead was tried
        on meron-2024-01-06: 4e4 for two plots let tentative tracks hop between the plots of
        rockets launched close together (12 false confirmed tracks); 1e4 for one plot gave
        no false track but the same confirmation time (3.8 s) and a worse impact point after
        5 s of tracking (366 m against 291 m median).
    q_ln_beta_per_s : float
        Random walk of ln(beta) (mass loss, drag-curve mismatch).
    q_drone_m2_s3 : float
        Manoeuvre noise of the nearly-constant-velocity drone model.
    max_step_s : float
        Largest RK4 step.
    """

    q_ballistic_m2_s3: float = 0.2
    q_boost_m2_s3: float = 0.2
    boost_hits: int = 4
    q_ln_beta_per_s: float = 1.0e-4
    q_drone_m2_s3: float = 40.0
    max_step_s: float = 0.5


FD_STEP = np.array([1.0, 1.0, 1.0, 0.05, 0.05, 0.05, 1.0e-3])
"""Forward-difference steps per state component (m, m/s, ln units)."""


def _derivative(x: F64, accel: AccelModel) -> F64:
    dx = np.zeros_like(x)
    dx[:, POS] = x[:, VEL]
    dx[:, VEL] = accel(x[:, POS], x[:, VEL], np.exp(x[:, LN_BETA]))
    return dx


def propagate_ballistic(x: F64, dt_s: float, accel: AccelModel, max_step_s: float) -> F64:
    """Integrate coasting states (N, 7) forward by ``dt_s`` seconds with RK4; returns a copy."""
    if dt_s <= 0.0 or x.shape[0] == 0:
        return x.copy()
    n_steps = max(1, int(np.ceil(dt_s / max_step_s)))
    h = dt_s / n_steps
    y = x.copy()
    for _ in range(n_steps):
        k1 = _derivative(y, accel)
        k2 = _derivative(y + 0.5 * h * k1, accel)
        k3 = _derivative(y + 0.5 * h * k2, accel)
        k4 = _derivative(y + h * k3, accel)
        y = y + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return y


def derivative_jacobian(x: F64, accel: AccelModel) -> F64:
    """``A = df/dx`` (N, 7, 7) of the coast dynamics at states (N, 7).

    ``d pos/dt = vel`` gives the identity block; the acceleration rows are forward
    differences of ``accel`` (one batched call on 8N states); ln(beta) is constant.
    """
    n = x.shape[0]
    pert = np.repeat(x[None, :, :], STATE_DIM + 1, axis=0)
    for k in range(STATE_DIM):
        pert[k + 1, :, k] += FD_STEP[k]
    flat = pert.reshape(-1, STATE_DIM)
    acc = accel(flat[:, POS], flat[:, VEL], np.exp(flat[:, LN_BETA])).reshape(-1, n, 3)
    a = np.zeros((n, STATE_DIM, STATE_DIM))
    a[:, 0:3, 3:6] = np.eye(3)
    a[:, 3:6, :] = np.transpose((acc[1:] - acc[0][None]) / FD_STEP[:, None, None], (1, 2, 0))
    return a


def ballistic_transition(
    x: F64, dt_s: float, accel: AccelModel, max_step_s: float
) -> tuple[F64, F64]:
    """Propagated states (N, 7) (RK4) and the transition Jacobian ``F`` (N, 7, 7).

    ``F = I + A dt + (A dt)^2 / 2`` with ``A`` from :func:`derivative_jacobian` at the start
    state: the second-order expansion of ``exp(A dt)``. Over a scan interval (<= 1 s) the
    drag and gravity-gradient terms of ``A`` are small (``|A_vv| dt`` ~ 0.06 for a Grad at
    600 m/s near the ground), so the neglected third-order term is below 1e-4.
    """
    adt = derivative_jacobian(x, accel) * dt_s
    f = np.eye(STATE_DIM)[None] + adt + 0.5 * (adt @ adt)
    return propagate_ballistic(x, dt_s, accel, max_step_s), f


def cv_transition(x: F64, dt_s: float) -> tuple[F64, F64]:
    """Nearly-constant-velocity states (N, 7) and Jacobian (N, 7, 7); ln(beta) is held."""
    f = np.eye(STATE_DIM)
    f[0:3, 3:6] = dt_s * np.eye(3)
    return x @ f.T, np.broadcast_to(f, (x.shape[0], STATE_DIM, STATE_DIM)).copy()


def process_noise(q_m2_s3: F64, q_ln_beta_per_s: float, dt_s: float) -> F64:
    """Process noise ``Q`` (N, 7, 7) for per-track acceleration densities ``q_m2_s3`` (N,)."""
    n = q_m2_s3.shape[0]
    q = np.zeros((n, STATE_DIM, STATE_DIM))
    for a in range(3):
        q[:, a, a] = q_m2_s3 * dt_s**3 / 3.0
        q[:, a, a + 3] = q[:, a + 3, a] = q_m2_s3 * dt_s**2 / 2.0
        q[:, a + 3, a + 3] = q_m2_s3 * dt_s
    q[:, LN_BETA, LN_BETA] = q_ln_beta_per_s * dt_s
    return q


class Predictor:
    """EKF prediction of all tracks to a common time, each row by its own motion model."""

    def __init__(self, settings: PredictorSettings, accel: AccelModel) -> None:
        self.settings = settings
        self.accel = accel

    def predict(
        self, x: F64, P: F64, kind: NDArray[np.int8], n_hits: NDArray[np.int64], dt_s: float
    ) -> tuple[F64, F64]:
        """Predict states (N, 7) and covariances (N, 7, 7) forward by ``dt_s``.

        ``n_hits`` (N,) counts each track's plots so far (selects the boost noise).
        Inputs are left unchanged.
        """
        s = self.settings
        if dt_s <= 0.0 or x.shape[0] == 0:
            return x.copy(), P.copy()
        drone = kind == KIND_DRONE
        x_new = np.empty_like(x)
        f = np.empty_like(P)
        if np.any(~drone):
            x_new[~drone], f[~drone] = ballistic_transition(
                x[~drone], dt_s, self.accel, s.max_step_s
            )
        if np.any(drone):
            x_new[drone], f[drone] = cv_transition(x[drone], dt_s)
        q_acc = np.where(n_hits < s.boost_hits, s.q_boost_m2_s3, s.q_ballistic_m2_s3)
        q_acc = np.where(drone, s.q_drone_m2_s3, q_acc)
        p_new = f @ P @ np.transpose(f, (0, 2, 1)) + process_noise(q_acc, s.q_ln_beta_per_s, dt_s)
        return x_new, 0.5 * (p_new + np.transpose(p_new, (0, 2, 1)))
