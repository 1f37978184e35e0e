"""The storage gateway: a pynetdicom C-STORE SCP for county modalities and PACS, and the
Modality Worklist C-FIND SCP (`dicom.mwl`) on the same port and AE title.

Only calling AE titles registered in the network registry may associate (others get an
A-ASSOCIATE-RJ "calling AE title not recognised"). Each instance goes the one ingest way
(`dicom.ingest.receive`): checked, admitted (owner, size), written durably to the spool
and only then acknowledged; the forwarder moves it to the archive. The priors our C-MOVE
retrievals (`dicom.jobs`) ask for arrive here too, as C-STOREs from the county PACS.
Handlers live here, away from the rules (pynetdicom `apps/qrscp/handlers.py` style).
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Callable
from typing import Any

from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    ModalityWorklistInformationFind,
    Verification,
)
from sqlalchemy.engine import Engine
from sqlmodel import Session

from dicom import mwl
from dicom.ingest import NotReceived, Origin, Rejected, receive
from dicom.owners import StudyOwners
from dicom.spool import Spool
from telemed.network import service as network_service

log = logging.getLogger("telemed.dicom.gateway")

# calling AE title -> (institution id, allowed host or "") ; None when not registered
AEResolver = Callable[[str], tuple[uuid.UUID, str] | None]


def registry_resolver(engine: Engine) -> AEResolver:
    """Resolve calling AE titles from the network registry (`network.service.find_ae`)."""

    def resolve(ae_title: str) -> tuple[uuid.UUID, str] | None:
        with Session(engine) as session:
            ae = network_service.find_ae(session=session, ae_title=ae_title)
            return (ae.institution_id, ae.host or "") if ae is not None else None

    return resolve


def _no_delay(event: Any) -> None:
    """Disable Nagle on accepted sockets: small C-STORE-RSPs must not wait ~40 ms for the
    peer's delayed ACK (the same stall DCMTK peers avoid with TCP_NODELAY=1)."""
    sock = getattr(getattr(event.assoc.dul, "socket", None), "socket", None)
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class StorageGateway:
    """C-STORE SCP on `port` writing to `spool`."""

    def __init__(
        self,
        *,
        spool: Spool,
        resolve_ae: AEResolver,
        engine: Engine | None = None,
        ae_title: str = "TELEMED",
        host: str = "0.0.0.0",
        port: int = 11112,
        max_study_bytes: int = 2 * 1024**3,
        validate: bool = True,
        owners: StudyOwners | None = None,
    ) -> None:
        self.spool = spool
        self.resolve_ae = resolve_ae
        self.engine = engine
        self.ae_title = ae_title
        self.host = host
        self.port = port
        self.max_study_bytes = max_study_bytes
        self.validate = validate
        self._server: Any = None
        # owner and size of each study, from the index once, then in memory
        self.owners = owners or StudyOwners(engine)
        self.received = 0
        self.refused = 0  # associations
        self.refused_instances = 0

    def _ae(self) -> AE:
        ae = AE(ae_title=self.ae_title)
        ae.maximum_pdu_size = 0  # unlimited: fewer, larger P-DATA PDUs
        for cx in AllStoragePresentationContexts:
            # Accept every transfer syntax, or compressed studies would be refused.
            ae.add_supported_context(str(cx.abstract_syntax), ALL_TRANSFER_SYNTAXES)
        ae.add_supported_context(Verification)
        if self.engine is not None:  # the modality worklist needs the database
            ae.add_supported_context(ModalityWorklistInformationFind)
        ae.network_timeout = 60
        ae.dimse_timeout = 60
        return ae

    def start(self) -> StorageGateway:
        handlers: list[Any] = [
            (evt.EVT_CONN_OPEN, _no_delay),
            (evt.EVT_REQUESTED, self._on_requested),
            (evt.EVT_C_STORE, self._on_store),
            (evt.EVT_C_ECHO, lambda event: 0x0000),
        ]
        if self.engine is not None:
            handlers.append((evt.EVT_C_FIND, mwl.find_handler(self.engine)))
        self._server = self._ae().start_server(
            (self.host, self.port), block=False, evt_handlers=handlers
        )
        self.port = self._server.server_address[1]
        log.info("storage gateway %s listening on %s:%s", self.ae_title, self.host, self.port)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    # ---------------------------------------------------------------- handlers

    def _on_requested(self, event: Any) -> None:
        assoc = event.assoc
        calling = assoc.requestor.primitive.calling_ae_title.strip()
        try:
            found = self.resolve_ae(calling)
        except Exception:  # registry unreachable: transient rejection, peer retries
            log.exception("AE registry lookup failed for %s", calling)
            assoc.acse.send_reject(0x02, 0x01, 0x01)
            assoc.kill()  # waits until the A-ASSOCIATE-RJ is on the wire, as pynetdicom does
            return
        peer = assoc.requestor.address
        if found is None or (found[1] and found[1] not in (peer, "*")):
            log.warning("refused association from unregistered AE %r at %s", calling, peer)
            self.refused += 1
            assoc.acse.send_reject(0x01, 0x01, 0x03)  # calling AE title not recognised
            assoc.kill()
            return
        assoc.telemed_institution_id = found[0]
        assoc.telemed_calling_ae = calling

    def _on_store(self, event: Any) -> int:
        assoc = event.assoc
        data = bytes(event.encoded_dataset())  # fast path: no decode/re-encode
        # Every refusal is answered with a documented status (never pynetdicom's C211
        # "exception in handler"): C000/A900 for the data, 0124 for another hospital's
        # study, A700 for our own resources.
        try:
            receive(
                spool=self.spool,
                data=data,
                origin=Origin(
                    institution_id=assoc.telemed_institution_id,
                    source="cstore",
                    source_ae=assoc.telemed_calling_ae,
                ),
                # benchmarks skip validation: the study UID from the request's dataset
                study_uid=None
                if self.validate
                else str(getattr(event.dataset, "StudyInstanceUID", "") or ""),
                admit=lambda study_uid, size: self.owners.admit(
                    study_uid, assoc.telemed_institution_id, size, self.max_study_bytes
                ),
            )
        except Rejected as exc:
            log.warning("refused instance from %s: %s", assoc.telemed_calling_ae, exc.reason)
            self.refused_instances += 1
            return exc.status
        except NotReceived as exc:
            log.exception("instance from %s not received: %s", assoc.telemed_calling_ae, exc)
            return exc.status
        self.received += 1
        return 0x0000
