"""Imaging relay (远程影像): archive adapters, storage gateway, DICOMweb, links, outbound."""
