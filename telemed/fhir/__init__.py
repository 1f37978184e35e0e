"""FHIR R4 server (`/fhir/R4`): a registry of resource handlers, each reusing its domain's
loaders, list queries and FHIR views; the CapabilityStatement is generated from the
registry, errors are OperationOutcome."""

PREFIX = "/fhir/R4"  # where the server answers
