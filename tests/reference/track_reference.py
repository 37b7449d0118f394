"""Slow per-track reference implementations of the tracking kernels, written from the
docstring equations one track at a time (plain loops, math module, itertools)."""

from __future__ import annotations

import itertools
import math

import numpy as np


def polar_one(p, v, radar_pos, rot):
    d = rot.T @ (np.asarray(p) - radar_pos)
    de, dn, du = d
    r = math.sqrt(de * de + dn * dn + du * du)
    az = math.atan2(de, dn) % (2 * math.pi)
    el = math.atan2(du, math.hypot(de, dn))
    out = [r, az, el]
    if v is not None:
        w = rot.T @ np.asarray(v)
        out.append(float(d @ w) / r)
    return np.array(out)


def jacobian_one(x, radar_pos, rot, with_rr):
    """Central differences of polar_one, one track at a time."""
    m = 4 if with_rr else 3
    h = np.zeros((m, 7))
    for k in range(6):
        step = 1e-3 if k < 3 else 1e-4
        xp, xm = np.array(x, float), np.array(x, float)
        xp[k] += step
        xm[k] -= step
        zp = polar_one(xp[:3], xp[3:6] if with_rr else None, radar_pos, rot)
        zm = polar_one(xm[:3], xm[3:6] if with_rr else None, radar_pos, rot)
        dz = zp - zm
        dz[1] = (dz[1] + math.pi) % (2 * math.pi) - math.pi
        h[:, k] = dz / (2 * step)
    return h


def ekf_update_one(x, p, z, z_pred, h, r):
    nu = np.asarray(z, float) - z_pred
    nu[1] = (nu[1] + math.pi) % (2 * math.pi) - math.pi
    s = h @ p @ h.T + r
    k = p @ h.T @ np.linalg.inv(s)
    x_new = x + k @ nu
    a = np.eye(7) - k @ h
    return x_new, a @ p @ a.T + k @ r @ k.T


def rk4_one(x, dt, accel, max_step):
    n = max(1, math.ceil(dt / max_step))
    h = dt / n
    y = np.array(x, float)

    def f(y):
        a = accel(y[None, :3], y[None, 3:6], np.array([math.exp(y[6])]))[0]
        return np.concatenate([y[3:6], a, [0.0]])

    for _ in range(n):
        k1 = f(y)
        k2 = f(y + h / 2 * k1)
        k3 = f(y + h / 2 * k2)
        k4 = f(y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y


def brute_force_assignment(n_tracks, n_plots, pairs, miss_cost):
    """Enumerate every assignment of tracks to distinct plots or to nothing; the cheapest."""
    cost = {(t, p): c for t, p, c in pairs}
    best, best_cost = None, math.inf
    options = [[-1] + [p for p in range(n_plots) if (t, p) in cost] for t in range(n_tracks)]
    for choice in itertools.product(*options):
        used = [p for p in choice if p >= 0]
        if len(used) != len(set(used)):
            continue
        total = sum(miss_cost[t] if p < 0 else cost[(t, p)] for t, p in enumerate(choice))
        if total < best_cost - 1e-12:
            best, best_cost = choice, total
    return list(best), best_cost


def greedy_pairs_one(a, b, dist):
    """Pairs taken shortest first (equal distances by a, then b), each end at most once: the
    indices of the kept pairs in the order taken."""
    used_a, used_b, kept = set(), set(), []
    for k in sorted(range(len(dist)), key=lambda k: (dist[k], a[k], b[k])):
        if a[k] in used_a or b[k] in used_b:
            continue
        used_a.add(a[k])
        used_b.add(b[k])
        kept.append(k)
    return kept


def gate_one(track_pos, track_pos_cov, plot_var, z_pred, s_inv, plot_pos, plot_z, sigmas, thr):
    """Every (track, plot) pair inside the Cartesian sphere of ``sigmas`` standard deviations
    and the Mahalanobis gate ``thr`` in the polar frame, with d2; one pair at a time."""
    out = []
    for i in range(len(track_pos)):
        radius = sigmas * math.sqrt(float(np.trace(track_pos_cov[i])) + plot_var[i])
        for j in range(len(plot_pos)):
            if np.linalg.norm(plot_pos[j] - track_pos[i]) > radius:
                continue
            nu = plot_z[j] - z_pred[i]
            nu[1] = (nu[1] + math.pi) % (2 * math.pi) - math.pi
            d2 = float(nu @ s_inv[i] @ nu)
            if d2 <= thr:
                out.append((i, j, d2))
    return out


def gnn_per_component_lsap(n_tracks, n_plots, pairs, miss_cost):
    """GNN one connected component at a time (graph walk over the pairs cheaper than the
    miss cost), each by ``linear_sum_assignment`` on the dense block (tracks and plots in
    ascending order) augmented with one miss column per track."""
    from scipy.optimize import linear_sum_assignment

    pairs = [(t, p, c) for t, p, c in pairs if c < miss_cost[t]]
    by_track, by_plot = {}, {}
    for t, p, c in pairs:
        by_track.setdefault(t, []).append((p, c))
        by_plot.setdefault(p, []).append(t)
    out, seen = [-1] * n_tracks, set()
    for start in sorted(by_track):
        if start in seen:
            continue
        tracks, plots, todo = set(), set(), [start]
        while todo:
            t = todo.pop()
            if t in tracks:
                continue
            tracks.add(t)
            for p, _ in by_track[t]:
                plots.add(p)
                todo.extend(by_plot[p])
        seen |= tracks
        rows, cols = sorted(tracks), sorted(plots)
        block = np.full((len(rows), len(cols) + len(rows)), 1.0e12)
        for i, t in enumerate(rows):
            for p, c in by_track[t]:
                block[i, cols.index(p)] = c
            block[i, len(cols) + i] = miss_cost[t]
        for i, j in zip(*linear_sum_assignment(block), strict=True):
            if j < len(cols):
                out[rows[i]] = cols[j]
    return out
