"""Decoding DICOM ECG waveforms (PS3.3 C.10.9 Waveform module) into leads in microvolts.

pydicom's `Dataset.waveform_array(n)` turns the multiplexed samples of a multiplex group
into per-channel values: each sample × Channel Sensitivity (003A,0210) × Channel
Sensitivity Correction Factor (003A,0212) + Channel Baseline (003A,0213), in the units of
the Channel Sensitivity Units Sequence (003A,0211, UCUM). Here the units are converted to
µV, the lead of each channel is named from its Channel Source Sequence (003A,0208) code
(CID 3001 "ECG Leads": MDC `2:n` or the older SCPECG `5.6.3-9-n`), samples equal to the
Waveform Padding Value (5400,100A) are set to the baseline, and the recording's filters
(Filter Low/High Frequency, Notch Filter Frequency) are reported as recorded (they were
applied by the cart; the reader is told, nothing is filtered again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset

ECG_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.9.1.1": "12-lead ECG",
    "1.2.840.10008.5.1.4.1.1.9.1.2": "General ECG",
    "1.2.840.10008.5.1.4.1.1.9.1.3": "Ambulatory ECG",
}

# CID 3001 codes -> the label readers print
_MDC = {
    "2:1": "I", "2:2": "II", "2:61": "III", "2:62": "aVR", "2:63": "aVL", "2:64": "aVF",
    "2:3": "V1", "2:4": "V2", "2:5": "V3", "2:6": "V4", "2:7": "V5", "2:8": "V6",
}  # fmt: skip
_SCPECG = {
    "5.6.3-9-1": "I", "5.6.3-9-2": "II", "5.6.3-9-61": "III", "5.6.3-9-62": "aVR",
    "5.6.3-9-63": "aVL", "5.6.3-9-64": "aVF", "5.6.3-9-3": "V1", "5.6.3-9-4": "V2",
    "5.6.3-9-5": "V3", "5.6.3-9-6": "V4", "5.6.3-9-7": "V5", "5.6.3-9-8": "V6",
}  # fmt: skip
_BY_MEANING = {label.lower(): label for label in _MDC.values()}
# UCUM unit -> factor to microvolts
_TO_UV = {"uV": 1.0, "mV": 1000.0, "V": 1e6, "nV": 1e-3}


class NotAnEcg(ValueError):
    """The instance has no usable ECG waveform (the reason is the message)."""


@dataclass
class Lead:
    label: str
    code: str
    scheme: str
    samples_uv: np.ndarray
    filter_low_hz: float | None = None
    filter_high_hz: float | None = None
    notch_hz: float | None = None


@dataclass
class Waveform:
    sop_class_uid: str
    sampling_rate: float
    group_label: str
    leads: list[Lead] = field(default_factory=list)

    @property
    def samples(self) -> int:
        return int(self.leads[0].samples_uv.shape[0]) if self.leads else 0

    def lead(self, label: str) -> Lead | None:
        return next((lead for lead in self.leads if lead.label == label), None)


def _number(item: Dataset, keyword: str) -> float | None:
    value = item.get(keyword)
    try:
        return None if value in (None, "") else float(value)
    except (TypeError, ValueError):
        return None


def lead_label(channel: Dataset, number: int) -> tuple[str, str, str]:
    """(label, code value, coding scheme) of a channel from its Channel Source Sequence."""
    source = (channel.get("ChannelSourceSequence") or [Dataset()])[0]
    code = str(source.get("CodeValue", ""))
    scheme = str(source.get("CodingSchemeDesignator", ""))
    table = {"MDC": _MDC, "SCPECG": _SCPECG}.get(scheme, {})
    if code in table:
        return table[code], code, scheme
    for text in (str(source.get("CodeMeaning", "")), str(channel.get("ChannelLabel", ""))):
        name = text.strip().lower().removeprefix("lead").strip()
        if name in _BY_MEANING:
            return _BY_MEANING[name], code, scheme
    return (str(channel.get("ChannelLabel", "")) or f"channel {number}"), code, scheme


def _pick_group(ds: Dataset) -> int:
    """The rhythm group: the longest one that is not a median/representative beat."""
    groups = list(ds.get("WaveformSequence") or [])
    if not groups:
        raise NotAnEcg("no Waveform Sequence (5400,0100)")
    best, best_len = -1, -1.0
    for index, group in enumerate(groups):
        label = str(group.get("MultiplexGroupLabel", "")).upper()
        if "MEDIAN" in label or "REPRESENTATIVE" in label:
            continue
        rate = _number(group, "SamplingFrequency") or 0.0
        seconds = int(group.get("NumberOfWaveformSamples", 0) or 0) / rate if rate else 0.0
        if seconds > best_len:
            best, best_len = index, seconds
    if best < 0:
        raise NotAnEcg("only median-beat multiplex groups")
    return best


def _padding(group: Dataset) -> int | None:
    """The Waveform Padding Value (5400,100A) as a raw sample value, if any."""
    value = group.get("WaveformPaddingValue")
    if not isinstance(value, bytes) or not value:
        return None
    size = int(group.get("WaveformBitsAllocated", 16)) // 8
    signed = str(group.get("WaveformSampleInterpretation", "")) in ("SS", "SB")
    return int.from_bytes(value[:size], "little", signed=signed)


def decode(ds: Dataset) -> Waveform:
    """The leads of the rhythm multiplex group of an ECG instance, in µV."""
    index = _pick_group(ds)
    group = ds.WaveformSequence[index]
    rate = _number(group, "SamplingFrequency")
    if not rate or rate <= 0:
        raise NotAnEcg("no Sampling Frequency (003A,001A)")
    try:
        values = ds.waveform_array(index)  # sensitivity, correction factor and baseline applied
        raw = pydicom.waveforms.multiplex_array(ds, index, as_raw=True)
    except (AttributeError, ValueError, KeyError) as exc:
        raise NotAnEcg(f"waveform data cannot be decoded: {exc}") from exc
    pad = _padding(group)
    out = Waveform(
        sop_class_uid=str(ds.get("SOPClassUID", "")),
        sampling_rate=float(rate),
        group_label=str(group.get("MultiplexGroupLabel", "")),
    )
    for number, channel in enumerate(group.ChannelDefinitionSequence):
        units = (channel.get("ChannelSensitivityUnitsSequence") or [Dataset()])[0]
        unit = str(units.get("CodeValue", "uV"))
        if unit not in _TO_UV:
            raise NotAnEcg(f"channel {number + 1}: unit {unit!r} is not a voltage")
        samples = values[:, number] * _TO_UV[unit]
        if pad is not None:
            baseline = (_number(channel, "ChannelBaseline") or 0.0) * _TO_UV[unit]
            samples = np.where(raw[:, number] == pad, baseline, samples)
        label, code, scheme = lead_label(channel, number + 1)
        out.leads.append(
            Lead(
                label=label,
                code=code,
                scheme=scheme,
                samples_uv=samples,
                filter_low_hz=_number(channel, "FilterLowFrequency"),
                filter_high_hz=_number(channel, "FilterHighFrequency"),
                notch_hz=_number(channel, "NotchFilterFrequency"),
            )
        )
    return out


def decode_bytes(data: bytes) -> Waveform:
    try:
        ds = pydicom.dcmread(BytesIO(data), force=True)
    except Exception as exc:  # an unreadable file is not an ECG we can show
        raise NotAnEcg(f"unreadable instance: {exc}") from exc
    return decode(ds)


def downsample(wave: Waveform, max_rate: float) -> tuple[float, list[np.ndarray]]:
    """The leads at no more than `max_rate` Hz (an integer factor, anti-aliased), or as is."""
    factor = int(np.ceil(wave.sampling_rate / max_rate)) if max_rate > 0 else 1
    if factor <= 1:
        return wave.sampling_rate, [lead.samples_uv for lead in wave.leads]
    from scipy.signal import decimate

    return wave.sampling_rate / factor, [
        decimate(lead.samples_uv, factor, ftype="fir", zero_phase=True) for lead in wave.leads
    ]


def as_payload(wave: Waveform, *, max_rate: float) -> dict[str, Any]:
    """The JSON shape of `GET /api/v1/studies/{uid}/ecg` (without measurements)."""
    rate, series = downsample(wave, max_rate)
    return {
        "sop_class_uid": wave.sop_class_uid,
        "sop_class": ECG_SOP_CLASSES.get(wave.sop_class_uid, "waveform"),
        "sampling_rate": rate,
        "recorded_sampling_rate": wave.sampling_rate,
        "duration_s": round(len(series[0]) / rate, 3) if series else 0.0,
        "units": "uV",
        "leads": [
            {
                "label": lead.label,
                "code": lead.code,
                "scheme": lead.scheme,
                "filter_low_hz": lead.filter_low_hz,
                "filter_high_hz": lead.filter_high_hz,
                "notch_hz": lead.notch_hz,
                "samples": np.rint(samples).astype(int).tolist(),
            }
            for lead, samples in zip(wave.leads, series, strict=True)
        ],
    }
