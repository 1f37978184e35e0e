"""ECG waveforms: decoding as PS3.3 says, C-STORE and STOW ingest, the reader's route with
per-study access and audit, and neurokit2's measurements against a synthetic ECG whose
rate and intervals are known (75 bpm, PR 160 ms, QRS 90 ms, QT 380 ms)."""

from __future__ import annotations

import math
import uuid
from io import BytesIO

import numpy as np
import pydicom
import pytest
from pynetdicom import AE
from sqlmodel import select

from dicom import ecg, ecg_synth
from dicom.archive import set_archive
from telemed.core.audit import AuditEvent
from tests.dicom.helpers import purge_studies
from tests.support.dicom_files import ct_series, to_bytes

SPEC = ecg_synth.EcgSpec(heart_rate=75, pr_ms=160, qrs_ms=90, qt_ms=380)


def _dataset(**kw):  # type: ignore[no-untyped-def]
    return ecg_synth.ecg_dataset(SPEC, **kw)


def test_decode_applies_sensitivity_correction_baseline_and_units() -> None:
    truth = ecg_synth.leads_uv(SPEC)
    ds = _dataset(sensitivity_uv=1.25, correction=2.0, baseline_uv=-40.0)
    wave = ecg.decode(pydicom.dcmread(BytesIO(to_bytes(ds))))
    assert [lead.label for lead in wave.leads] == [label for label, _ in ecg_synth.LEADS]
    assert wave.sampling_rate == 500.0 and wave.samples == 5000
    for lead in wave.leads:  # quantised to 2.5 µV: at most half a step off
        assert np.max(np.abs(lead.samples_uv - truth[lead.label])) <= 1.26
        assert (lead.filter_low_hz, lead.filter_high_hz, lead.notch_hz) == (0.05, 150.0, 50.0)

    # the same recording in millivolts, SCPECG codes, no labels: the same µV, the same leads
    mv = _dataset(sensitivity_uv=2.5)
    for ch in mv.WaveformSequence[0].ChannelDefinitionSequence:
        ch.ChannelSensitivity = "0.0025"
        ch.ChannelSensitivityUnitsSequence[0].CodeValue = "mV"
        source = ch.ChannelSourceSequence[0]
        scp = {"2:1": "1", "2:2": "2", "2:61": "61", "2:62": "62", "2:63": "63", "2:64": "64"}
        number = scp.get(
            source.CodeValue,
            str(int(source.CodeValue[2:]) if source.CodeValue[2:].isdigit() else 0),
        )
        source.CodeValue, source.CodingSchemeDesignator = f"5.6.3-9-{number}", "SCPECG"
        del ch.ChannelLabel
    other = ecg.decode(mv)
    assert [lead.label for lead in other.leads] == [label for label, _ in ecg_synth.LEADS]
    assert np.max(np.abs(other.leads[1].samples_uv - truth["II"])) <= 1.26

    # padding samples read as the baseline, not as a spike
    padded = _dataset(baseline_uv=100.0)
    group = padded.WaveformSequence[0]
    raw = np.frombuffer(group.WaveformData, "<i2").copy()
    raw[:12] = -32768
    group.WaveformData = raw.tobytes()
    group.WaveformPaddingValue = (-32768).to_bytes(2, "little", signed=True)
    assert all(lead.samples_uv[0] == 100.0 for lead in ecg.decode(padded).leads)


def test_decode_refuses_what_is_not_a_voltage_waveform() -> None:
    with pytest.raises(ecg.NotAnEcg):
        ecg.decode(ct_series(1)[0])
    ds = _dataset()
    ds.WaveformSequence[0].ChannelDefinitionSequence[0].ChannelSensitivityUnitsSequence[
        0
    ].CodeValue = "mm[Hg]"
    with pytest.raises(ecg.NotAnEcg, match="not a voltage"):
        ecg.decode(ds)


def _close(measured: dict, key: str, expected: float, tolerance: float) -> None:  # type: ignore[type-arg]
    value = measured[key]
    assert value is not None and abs(value - expected) <= tolerance, (key, value, expected)


def test_cstore_of_both_ecg_classes_then_the_reader_route_measures_them(
    gateway, orthanc_archive, committed_engine, client, login, session
) -> None:  # type: ignore[no-untyped-def]
    gw, forwarder = gateway
    study_uid = pydicom.uid.generate_uid()
    twelve = _dataset(study_uid=study_uid, sensitivity_uv=1.25, correction=2.0, baseline_uv=-40)
    general = _dataset(study_uid=study_uid)
    general.SOPClassUID = general.file_meta.MediaStorageSOPClassUID = ecg_synth.GENERAL_ECG
    general.SeriesNumber = 2
    ae = AE(ae_title="DEMO_COUNTY")
    for sop_class in (ecg_synth.TWELVE_LEAD_ECG, ecg_synth.GENERAL_ECG):
        ae.add_requested_context(sop_class, "1.2.840.10008.1.2.1")
    set_archive(orthanc_archive)
    try:
        assoc = ae.associate("127.0.0.1", gw.port, ae_title="TELEMED")
        assert assoc.is_established
        assert [assoc.send_c_store(ds).Status for ds in (twelve, general)] == [0, 0]
        assoc.release()
        assert forwarder.wait_idle(60)

        county = login("county-doctor")
        r = client.get(f"/api/v1/studies/{study_uid}/ecg", headers=county)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["sop_uid"] == twelve.SOPInstanceUID and len(body["instances"]) == 2
        assert body["sop_class"] == "12-lead ECG" and body["units"] == "uV"
        assert body["sampling_rate"] == 500.0 and body["duration_s"] == 10.0
        assert [lead["label"] for lead in body["leads"]] == [n for n, _ in ecg_synth.LEADS]
        truth = ecg_synth.leads_uv(SPEC)
        assert (
            np.max(np.abs(np.array(body["leads"][1]["samples"]) - truth["II"])) <= 1.8
        )  # half a 2.5 µV step + integer µV

        assert "measurements" not in body  # the tracing does not wait for them
        measured = client.get(f"/api/v1/studies/{study_uid}/ecg/measurements", headers=county)
        assert measured.status_code == 200, measured.text
        m = measured.json()
        assert m["sop_uid"] == twelve.SOPInstanceUID
        assert m["automatic"] is True and "not a diagnosis" in m["note"]
        _close(m, "heart_rate_bpm", 75, 2)
        _close(m, "rr_ms", 800, 10)
        _close(m, "pr_ms", 160, 10)
        _close(m, "qrs_ms", 90, 10)
        _close(m, "qt_ms", 380, 10)
        rr = m["rr_ms"] / 1000
        _close(m, "qtc_bazett_ms", m["qt_ms"] / math.sqrt(rr), 1)
        _close(m, "qtc_fridericia_ms", m["qt_ms"] / rr ** (1 / 3), 1)
        _close(m, "axis_deg", ecg_synth.expected_axis(SPEC), 10)

        general_body = client.get(
            f"/api/v1/studies/{study_uid}/ecg",
            params={"instance": general.SOPInstanceUID, "max_rate": 250},
            headers=county,
        ).json()
        assert general_body["sop_class"] == "General ECG"
        assert (
            general_body["sampling_rate"] == 250.0
            and general_body["recorded_sampling_rate"] == 500.0
        )
        assert len(general_body["leads"][0]["samples"]) == 2500

        # another hospital's specialist, not linked: 404 and a refusal on record
        assert (
            client.get(f"/api/v1/studies/{study_uid}/ecg", headers=login("specialist")).status_code
            == 404
        )
        rows = session.exec(select(AuditEvent).where(AuditEvent.object_id == study_uid)).all()
        for what in ("ecg", "ecg-measurements"):
            assert any(a.detail.get("what") == what and a.action == "read" for a in rows)
        assert any(a.action == "refused" for a in rows)
    finally:
        set_archive(None)
        purge_studies(committed_engine, study_uid)


def test_stow_of_an_ecg_and_the_route_refusals(any_archive, client, login, stow) -> None:  # type: ignore[no-untyped-def]
    county = login("county-doctor")
    ds = _dataset()
    r = stow([to_bytes(ds)], county)
    assert r.status_code == 200, r.text
    ok = client.get(f"/api/v1/studies/{ds.StudyInstanceUID}/ecg", headers=county)
    assert ok.status_code == 200 and len(ok.json()["leads"]) == 12
    assert ok.headers["content-encoding"] == "gzip"  # httpx asked for it, and undid it
    plain = client.get(
        f"/api/v1/studies/{ds.StudyInstanceUID}/ecg",
        headers={**county, "Accept-Encoding": "identity"},
    )
    assert "content-encoding" not in plain.headers and plain.json() == ok.json()

    ct = ct_series(1)
    assert stow([to_bytes(ct[0])], county).status_code == 200
    no = client.get(f"/api/v1/studies/{ct[0].StudyInstanceUID}/ecg", headers=county)
    assert no.status_code == 404 and no.json()["code"] == "no_ecg"
    bad = client.get("/api/v1/studies/1.2.x/ecg", headers=county)
    assert bad.status_code == 422
    unknown = client.get(
        f"/api/v1/studies/{ds.StudyInstanceUID}/ecg",
        params={"instance": f"2.25.{uuid.uuid4().int}"},
        headers=county,
    )
    assert unknown.status_code == 404


def test_the_rhythm_group_is_read_not_the_median_beat() -> None:
    ds = _dataset()
    rhythm = ds.WaveformSequence[0]
    median = pydicom.Dataset()
    for keyword in ("NumberOfWaveformChannels", "SamplingFrequency", "WaveformBitsAllocated"):
        setattr(median, keyword, getattr(rhythm, keyword))
    median.WaveformSampleInterpretation = "SS"
    median.MultiplexGroupLabel = "MEDIAN BEAT"
    median.NumberOfWaveformSamples = 600  # 1.2 s
    median.ChannelDefinitionSequence = rhythm.ChannelDefinitionSequence
    median.WaveformData = np.zeros((600, 12), "<i2").tobytes()
    ds.WaveformSequence = [median, rhythm]  # the median beat first, as some carts write it
    wave = ecg.decode(ds)
    assert wave.group_label == "RHYTHM" and wave.samples == 5000
    ds.WaveformSequence = [median]
    with pytest.raises(ecg.NotAnEcg, match="median"):
        ecg.decode(ds)
