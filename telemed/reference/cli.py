"""`telemed reference ...`: the ICD-10 catalogue from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="reference data (ICD-10 catalogue)", no_args_is_help=True)
icd10_app = typer.Typer(help="ICD-10 catalogue", no_args_is_help=True)
app.add_typer(icd10_app, name="icd10")


@icd10_app.command("import")
def icd10_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Upsert codes from a UTF-8 CSV with the header code,name_zh,name_en[,chapter]."""
    from sqlmodel import Session

    from telemed.core import clock
    from telemed.core.db import get_engine
    from telemed.core.errors import Invalid
    from telemed.reference import service

    with Session(get_engine()) as session:
        try:
            result = service.import_csv(
                session=session, text=file.read_text(encoding="utf-8"), now=clock.now()
            )
        except Invalid as exc:
            typer.echo(f"import refused: {exc.detail}", err=True)
            raise typer.Exit(1) from exc
        session.commit()
    typer.echo(f"created {result.created}, updated {result.updated}, unchanged {result.unchanged}")
