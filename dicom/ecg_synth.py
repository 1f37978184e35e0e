"""A synthetic 12-lead ECG with known rate and intervals, as a DICOM 12-lead ECG instance.

Used by the demo activity (its ECG readings carry a real waveform) and by the tests, which
check the server's automatic measurements against what was built here. Each wave (P, Q, R,
S, T) is a dipole in the heart's frame (x to the patient's left, y inferior, z anterior),
shaped over time and projected on the twelve lead vectors (Einthoven/Goldberger frontal
leads derived from I and II, the precordial leads on the horizontal plane), so the leads
are consistent with each other the way a recorded ECG is (III = II − I, aVR = −(I+II)/2 …).

Wave timing, relative to QRS onset: P from −PR to −PR+P duration, QRS from 0 to QRS, T
ending at QT. The samples are stored as signed 16-bit integers with a Channel Sensitivity
(µV per count), a correction factor and a baseline, so a reader must apply PS3.3 C.10.9.1.4
to get the right microvolts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

TWELVE_LEAD_ECG = "1.2.840.10008.5.1.4.1.1.9.1.1"
GENERAL_ECG = "1.2.840.10008.5.1.4.1.1.9.1.2"

# (label, MDC code of CID 3001 "ECG Leads")
LEADS: tuple[tuple[str, str], ...] = (
    ("I", "2:1"),
    ("II", "2:2"),
    ("III", "2:61"),
    ("aVR", "2:62"),
    ("aVL", "2:63"),
    ("aVF", "2:64"),
    ("V1", "2:3"),
    ("V2", "2:4"),
    ("V3", "2:5"),
    ("V4", "2:6"),
    ("V5", "2:7"),
    ("V6", "2:8"),
)
# horizontal-plane angle of V1..V6 from the patient's left (x) towards anterior (z), degrees
_PRECORDIAL = (120.0, 95.0, 75.0, 60.0, 35.0, 10.0)


@dataclass(frozen=True)
class EcgSpec:
    heart_rate: float = 75.0  # bpm
    pr_ms: float = 160.0  # P onset to QRS onset
    qrs_ms: float = 90.0
    qt_ms: float = 380.0  # QRS onset to T end
    p_ms: float = 100.0
    axis_deg: float = 60.0  # direction of the R dipole in the frontal plane
    seconds: float = 10.0
    rate_hz: int = 500
    noise_uv: float = 8.0
    seed: int = 19
    r_uv: float = 1300.0  # R dipole amplitude (a high voltage for hypertrophy)
    rr_jitter: float = 0.0  # ± share of RR drawn per beat (0.2 with p_uv=0: atrial fibrillation)
    p_uv: float = 150.0  # 0: no P waves (fibrillatory baseline instead)


def _half_sine(t: np.ndarray, start: float, length: float) -> np.ndarray:
    """sin over [start, start+length], zero elsewhere (a sharp onset, as a real QRS has)."""
    phase = (t - start) / length
    inside = (phase >= 0) & (phase <= 1)
    return np.where(inside, np.sin(np.pi * np.clip(phase, 0, 1)), 0.0)


def _t_wave(t: np.ndarray, start: float, end: float) -> np.ndarray:
    """A slow rise and a faster fall that reaches the baseline at `end`."""
    peak = start + 0.62 * (end - start)
    rise = np.where(
        (t >= start) & (t < peak), np.sin(0.5 * np.pi * (t - start) / (peak - start)) ** 2, 0.0
    )
    fall = np.where((t >= peak) & (t <= end), np.cos(0.5 * np.pi * (t - peak) / (end - peak)), 0.0)
    return rise + fall


def _unit(deg_frontal: float, z: float = 0.0) -> np.ndarray:
    a = math.radians(deg_frontal)
    v = np.array([math.cos(a), math.sin(a), z])
    return v / np.linalg.norm(v)


def leads_uv(spec: EcgSpec = EcgSpec()) -> dict[str, np.ndarray]:
    """The twelve leads in microvolts, sampled at `spec.rate_hz`."""
    n = int(spec.seconds * spec.rate_hz)
    t = np.arange(n) / spec.rate_hz * 1000.0  # ms
    rr = 60000.0 / spec.heart_rate
    q_end, r_end = 0.22 * spec.qrs_ms, 0.62 * spec.qrs_ms
    rng = np.random.default_rng(spec.seed)
    waves = {  # name -> (dipole direction, amplitude µV, shape over t)
        "P": (_unit(50.0, 0.1), spec.p_uv, np.zeros(n)),
        "Q": (_unit(spec.axis_deg + 150.0, 0.2), 120.0, np.zeros(n)),
        "R": (_unit(spec.axis_deg, -0.35), spec.r_uv, np.zeros(n)),
        "S": (_unit(spec.axis_deg + 200.0, 0.5), 350.0, np.zeros(n)),
        "T": (_unit(spec.axis_deg - 10.0, 0.4), 330.0, np.zeros(n)),
    }
    first = 300.0 + spec.pr_ms
    onsets = [first]
    while True:
        step = rr * (1.0 + spec.rr_jitter * rng.uniform(-1.0, 1.0))
        if onsets[-1] + step >= t[-1] - spec.qt_ms - 50.0:
            break
        onsets.append(onsets[-1] + step)
    for onset in onsets:
        waves["P"][2][:] += _half_sine(t, onset - spec.pr_ms, spec.p_ms)
        waves["Q"][2][:] += _half_sine(t, onset, q_end)
        waves["R"][2][:] += _half_sine(t, onset + q_end, r_end - q_end)
        waves["S"][2][:] += _half_sine(t, onset + r_end, spec.qrs_ms - r_end)
        waves["T"][2][:] += _t_wave(t, onset + spec.qrs_ms + 110.0, onset + spec.qt_ms)
    heart = np.zeros((3, n))
    for direction, amplitude, shape in waves.values():
        heart += np.outer(direction, amplitude * shape)
    x, y, z = heart
    lead_i = x
    lead_ii = 0.5 * x + math.sqrt(3) / 2 * y
    out = {
        "I": lead_i,
        "II": lead_ii,
        "III": lead_ii - lead_i,
        "aVR": -(lead_i + lead_ii) / 2,
        "aVL": lead_i - lead_ii / 2,
        "aVF": lead_ii - lead_i / 2,
    }
    for k, angle in enumerate(_PRECORDIAL, start=1):
        a = math.radians(angle)
        out[f"V{k}"] = 1.2 * (math.cos(a) * x + math.sin(a) * z) + 0.15 * y
    if spec.p_uv == 0:  # fibrillatory waves, ~6 Hz, in the inferior and right leads
        f_waves = 40.0 * np.sin(2 * np.pi * 6.0 * t / 1000.0 + rng.uniform(0, 6.3))
        for name in ("II", "III", "aVF", "V1"):
            out[name] = out[name] + f_waves
    return {name: out[name] + rng.normal(0.0, spec.noise_uv, n) for name, _ in LEADS}


def expected_axis(spec: EcgSpec = EcgSpec()) -> float:
    """The frontal QRS axis the construction implies (net Q+R+S area), degrees."""
    q_end, r_end = 0.22 * spec.qrs_ms, 0.62 * spec.qrs_ms
    area = np.zeros(3)
    for deg, z, amp, dur in (
        (spec.axis_deg + 150.0, 0.2, 120.0, q_end),
        (spec.axis_deg, -0.35, 1300.0, r_end - q_end),
        (spec.axis_deg + 200.0, 0.5, 350.0, spec.qrs_ms - r_end),
    ):
        area += _unit(deg, z) * amp * dur
    return math.degrees(math.atan2(area[1], area[0]))


def _coded(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def ecg_dataset(
    spec: EcgSpec = EcgSpec(),
    *,
    study_uid: str | None = None,
    patient_id: str = "ECG-SYNTH",
    patient_name: str = "SYNTH^ECG",
    accession: str = "",
    when: datetime | None = None,
    sensitivity_uv: float = 2.5,
    correction: float = 1.0,
    baseline_uv: float = 0.0,
    uids: tuple[str, str] | None = None,
) -> Dataset:
    """A 12-lead ECG Waveform Storage instance (one 10 s rhythm multiplex group); `uids`
    (series, SOP instance) make it reproducible."""
    leads = leads_uv(spec)
    counts = np.stack(
        [
            np.round((leads[name] - baseline_uv) / (sensitivity_uv * correction))
            for name, _ in LEADS
        ],
        axis=1,
    ).astype("<i2")
    when = when or datetime(2026, 12, 1, 9, 30)
    ds = Dataset()
    series_uid, sop_uid = uids or (generate_uid(), generate_uid())
    ds.SOPClassUID, ds.SOPInstanceUID = TWELVE_LEAD_ECG, sop_uid
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "ECG", 1, 1
    ds.PatientName, ds.PatientID, ds.PatientSex, ds.PatientBirthDate = (
        patient_name,
        patient_id,
        "O",
        "",
    )
    ds.StudyDate = ds.ContentDate = ds.AcquisitionDateTime = when.strftime("%Y%m%d")
    ds.AcquisitionDateTime = when.strftime("%Y%m%d%H%M%S")
    ds.StudyTime = ds.ContentTime = when.strftime("%H%M%S")
    ds.AccessionNumber, ds.ReferringPhysicianName, ds.StudyID = accession, "", "1"
    ds.Manufacturer, ds.StudyDescription = "telemed synthetic", "12-lead ECG"
    ds.SpecificCharacterSet = "ISO_IR 192"
    group = Dataset()
    group.MultiplexGroupTimeOffset = 0.0
    group.WaveformOriginality = "ORIGINAL"
    group.NumberOfWaveformChannels = len(LEADS)
    group.NumberOfWaveformSamples = counts.shape[0]
    group.SamplingFrequency = float(spec.rate_hz)
    group.MultiplexGroupLabel = "RHYTHM"
    channels = []
    for number, (label, code) in enumerate(LEADS, start=1):
        ch = Dataset()
        ch.ChannelNumber = number
        ch.ChannelLabel = label
        ch.ChannelSourceSequence = [_coded(code, "MDC", f"Lead {label}")]
        ch.ChannelSensitivity = f"{sensitivity_uv:g}"
        ch.ChannelSensitivityUnitsSequence = [_coded("uV", "UCUM", "microvolt")]
        ch.ChannelSensitivityCorrectionFactor = f"{correction:g}"
        ch.ChannelBaseline = f"{baseline_uv:g}"
        ch.ChannelTimeSkew = "0"
        ch.WaveformBitsStored = 16
        ch.FilterLowFrequency = "0.05"
        ch.FilterHighFrequency = "150"
        ch.NotchFilterFrequency = "50"
        channels.append(ch)
    group.ChannelDefinitionSequence = channels
    group.WaveformBitsAllocated = 16
    group.WaveformSampleInterpretation = "SS"
    group.WaveformData = counts.tobytes()
    ds.WaveformSequence = [group]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(TWELVE_LEAD_ECG)
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    return ds


def ecg_bytes(spec: EcgSpec = EcgSpec(), **kwargs: object) -> bytes:
    """The instance as Part-10 bytes."""
    buffer = BytesIO()
    ecg_dataset(spec, **kwargs).save_as(buffer, enforce_file_format=True)  # type: ignore[arg-type]
    return buffer.getvalue()
