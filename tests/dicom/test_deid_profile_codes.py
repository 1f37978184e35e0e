"""The de-identification method codes we write are PS3.16 CID 7050's, as pydicom knows them."""

from __future__ import annotations

from pydicom.sr.codedict import codes

from dicom.deid_profile import OPTION_CODES

PYDICOM = {
    "basic": codes.DCM.BasicApplicationConfidentialityProfile,
    "clean_pixel_data": codes.DCM.CleanPixelDataOption,
    "clean_recognizable_visual_features": codes.DCM.CleanRecognizableVisualFeaturesOption,
    "clean_graphics": codes.DCM.CleanGraphicsOption,
    "clean_structured_content": codes.DCM.CleanStructuredContentOption,
    "clean_descriptors": codes.DCM.CleanDescriptorsOption,
    "retain_long_full_dates": codes.DCM.RetainLongitudinalTemporalInformationFullDatesOption,
    "retain_long_modified_dates": (
        codes.DCM.RetainLongitudinalTemporalInformationModifiedDatesOption
    ),
    "retain_patient_characteristics": codes.DCM.RetainPatientCharacteristicsOption,
    "retain_device_identity": codes.DCM.RetainDeviceIdentityOption,
    "retain_uids": codes.DCM.RetainUidsOption,
    "retain_safe_private": codes.DCM.RetainSafePrivateOption,
    "retain_institution_identity": codes.DCM.RetainInstitutionIdentityOption,
}


def test_every_option_code_is_cid_7050s_own() -> None:
    assert set(OPTION_CODES) == set(PYDICOM)
    for name, code in OPTION_CODES.items():
        theirs = PYDICOM[name]
        assert (code.value, code.scheme_designator, code.meaning) == (
            theirs.value,
            theirs.scheme_designator,
            theirs.meaning,
        ), name
