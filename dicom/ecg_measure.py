"""Automatic ECG measurements (never a diagnosis): HR, RR, PR, QRS, QT, QTc, frontal axis.

The signal work is neurokit2's (`ecg_clean`, `ecg_peaks` for the R peaks, `ecg_delineate`
with its discrete-wavelet method for the P, QRS and T fiducial points), a maintained and
validated toolbox; this module only combines its per-lead, per-beat points into global
values the way 12-lead carts report them:

- R peaks are found once, on the lead with the tallest QRS (turned over when it points
  down), after neurokit2's cleaning;
- every lead is delineated at those peaks on its recorded signal with only a 0.05 Hz
  high-pass (the diagnostic bandwidth: a stronger filter moves the wave onsets), a lead
  whose QRS is mostly negative (aVR, V1) is turned over first;
- PR = QRS onset − P onset, QRS = QRS offset − QRS onset, QT = T offset − QRS onset: the
  median over beats in each lead, then the median over leads (robust to a lead where the
  delineator fails);
- RR is the median R-R interval, HR = 60 000 / RR; QTc Bazett = QT / √RR(s), Fridericia =
  QT / ∛RR(s);
- the frontal axis is the direction of the net QRS area (onset..offset) in I and aVF on the
  hexaxial system: atan2(2·aVF / √3, I).

The answer says `automatic: true` and carries neurokit2's version; the reader edits it.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from dicom.ecg import Waveform

_MIN_BEATS = 3


def _median(values: list[float]) -> float | None:
    clean = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.median(clean)) if clean else None


def _points(waves: dict[str, Any], key: str, count: int) -> np.ndarray:
    out = np.full(count, np.nan)
    values = waves.get(key) or []
    for i, value in enumerate(values[:count]):
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            out[i] = float(value)
    return out


def _interval(a: np.ndarray, b: np.ndarray, rate: float) -> float | None:
    diff = (b - a) * 1000.0 / rate
    diff = diff[np.isfinite(diff) & (diff > 0)]
    return float(np.median(diff)) if diff.size else None


def _reference(wave: Waveform) -> tuple[Any, float]:
    """The lead with the tallest QRS (its polarity): where R peaks are found best."""
    best, best_size, best_sign = None, -1.0, 1.0
    for lead in wave.leads:
        centred = lead.samples_uv - np.median(lead.samples_uv)
        high, low = float(np.percentile(centred, 99.5)), float(-np.percentile(centred, 0.5))
        if max(high, low) > best_size:
            best, best_size, best_sign = lead, max(high, low), (1.0 if high >= low else -1.0)
    return best, best_sign


def measure(wave: Waveform) -> dict[str, Any]:
    """The automatic measurements of a decoded ECG (values in bpm, ms, degrees)."""
    import neurokit2 as nk

    rate = wave.sampling_rate
    reference, sign = _reference(wave)
    result: dict[str, Any] = {
        "automatic": True,
        "method": f"neurokit2 {nk.__version__} (ecg_peaks, ecg_delineate dwt); global medians",
        "note": "automatic measurements for the reader to check; not a diagnosis",
        "reference_lead": reference.label if reference else None,
        "beats": 0,
        "heart_rate_bpm": None,
        "rr_ms": None,
        "pr_ms": None,
        "qrs_ms": None,
        "qt_ms": None,
        "qtc_bazett_ms": None,
        "qtc_fridericia_ms": None,
        "axis_deg": None,
    }
    if reference is None:
        return result
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cleaned = nk.ecg_clean(sign * reference.samples_uv / 1000.0, sampling_rate=rate)
        _, info = nk.ecg_peaks(cleaned, sampling_rate=rate)
    peaks = np.asarray(info["ECG_R_Peaks"], dtype=int)
    result["beats"] = int(peaks.size)
    if peaks.size < _MIN_BEATS:
        return result
    rr = float(np.median(np.diff(peaks))) * 1000.0 / rate
    result["rr_ms"] = round(rr, 1)
    result["heart_rate_bpm"] = round(60000.0 / rr, 1)

    per_lead: dict[str, list[float]] = {"pr": [], "qrs": [], "qt": []}
    windows: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for lead in wave.leads:
        signal = lead.samples_uv / 1000.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            signal = nk.signal_filter(
                signal, sampling_rate=rate, lowcut=0.05, method="butterworth", order=2
            )
            if np.median(signal[peaks]) < 0:
                signal = -signal
            try:
                _, waves = nk.ecg_delineate(signal, peaks, sampling_rate=rate, method="dwt")
            except Exception:
                continue
        n = peaks.size
        p_on = _points(waves, "ECG_P_Onsets", n)
        q_on = _points(waves, "ECG_R_Onsets", n)
        q_off = _points(waves, "ECG_R_Offsets", n)
        t_off = _points(waves, "ECG_T_Offsets", n)
        per_lead["pr"].append(_interval(p_on, q_on, rate) or math.nan)
        per_lead["qrs"].append(_interval(q_on, q_off, rate) or math.nan)
        per_lead["qt"].append(_interval(q_on, t_off, rate) or math.nan)
        windows[lead.label] = (q_on, q_off)

    for key in ("pr", "qrs", "qt"):
        value = _median(per_lead[key])
        result[f"{key}_ms"] = None if value is None else round(value)
    qt = result["qt_ms"]
    if qt is not None:
        rr_s = rr / 1000.0
        result["qtc_bazett_ms"] = round(qt / math.sqrt(rr_s))
        result["qtc_fridericia_ms"] = round(qt / rr_s ** (1.0 / 3.0))
    result["axis_deg"] = _axis(wave, peaks, rate, result["qrs_ms"], windows)
    return result


def _axis(
    wave: Waveform,
    peaks: np.ndarray,
    rate: float,
    qrs_ms: float | None,
    windows: dict[str, tuple[np.ndarray, np.ndarray]],
) -> float | None:
    lead_i, lead_avf = wave.lead("I"), wave.lead("aVF")
    if lead_i is None or lead_avf is None or qrs_ms is None:
        return None
    # the QRS window of each beat: the median onset before each R peak over the leads
    onsets = [np.nanmedian(peaks - q_on) for q_on, _ in windows.values() if np.isfinite(q_on).any()]
    before = int(round(float(np.median(onsets)))) if onsets else int(0.04 * rate)
    width = int(round(qrs_ms * rate / 1000.0))
    net_i = net_avf = 0.0
    for peak in peaks:
        start = max(0, int(peak) - before)
        stop = min(lead_i.samples_uv.size, start + width)
        if stop - start < 2:
            continue
        for_i, for_avf = lead_i.samples_uv[start:stop], lead_avf.samples_uv[start:stop]
        # area above the level at the QRS onset (the PR segment)
        net_i += float(np.sum(for_i - for_i[0]))
        net_avf += float(np.sum(for_avf - for_avf[0]))
    if net_i == 0.0 and net_avf == 0.0:
        return None
    return round(math.degrees(math.atan2(2.0 * net_avf / math.sqrt(3.0), net_i)))
