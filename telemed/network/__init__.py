"""The hospital network: leagues, counties, institutions, alliances, DICOM AE titles."""
