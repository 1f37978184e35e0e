"""Rules of imaging, the façade other domains import (`from dicom import service`).

The rules live in small modules, re-exported here:
- `dicom.visibility`: who may see a study (sender's staff, participants of a linked
  consultation/referral, the patient, admins), filtered lists, the audit of every access;
- `dicom.links`: linking studies to consultations/referrals (`dicom.policy` decides who may);
- `dicom.index`: the study index written by every ingest path;
- `dicom.worklist` / `dicom.orders`: orders published for remote imaging requests and
  fulfilled by the studies that arrive with their accession number;
- `dicom.reconcile`: assigning studies that matched no order.
"""

from __future__ import annotations

from dicom import policy, worklist
from dicom.context import demographics_against, register_link_context
from dicom.demo_pacs import AE_TITLE as DEMO_PACS_AE_TITLE
from dicom.demo_pacs import PORT as DEMO_PACS_PORT
from dicom.ecg_demo import attach_synthetic_ecg
from dicom.ecg_demo import reader_values as demo_ecg_values
from dicom.ecg_synth import EcgSpec
from dicom.index import InstanceInfo, Received, index_instance, index_instances, instances_of
from dicom.links import link_counts, link_study, links_for, studies_for, unlink_study
from dicom.orders import TargetAttach, register_target_attach
from dicom.reconcile import (
    assign_study,
    compare_for_assignment,
    demographic_mismatches,
    unmatched_studies,
)
from dicom.visibility import (
    LINK_ACCESS,
    LinkAccess,
    can_see_study,
    get_visible_study,
    list_studies,
    open_study,
    record_access,
    register_link_access,
    study_by_uid,
    summary_of,
    visible_study,
    visible_study_uids,
)

__all__ = [
    "demographics_against",
    "register_link_context",
    "TargetAttach",
    "assign_study",
    "cancel_orders",
    "compare_for_assignment",
    "demographic_mismatches",
    "orders_of",
    "publish_order",
    "register_target_attach",
    "unmatched_studies",
    "InstanceInfo",
    "LinkAccess",
    "can_see_study",
    "get_visible_study",
    "Received",
    "index_instance",
    "index_instances",
    "instances_of",
    "link_study",
    "link_counts",
    "links_for",
    "list_studies",
    "open_study",
    "record_access",
    "register_link_access",
    "register_link_target",
    "studies_for",
    "study_by_uid",
    "summary_of",
    "unlink_study",
    "visible_study",
    "visible_study_uids",
    "EcgSpec",
    "attach_synthetic_ecg",
    "DEMO_PACS_AE_TITLE",
    "DEMO_PACS_PORT",
    "demo_ecg_values",
]

_link_access = LINK_ACCESS  # the registry itself (tests reset it)
register_link_target = policy.register_link_target
publish_order = worklist.publish_order
cancel_orders = worklist.cancel_orders
orders_of = worklist.orders_of
