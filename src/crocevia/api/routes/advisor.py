"""Channel advisor: which apps reach an audience, from public figures and the workspace's own contacts;
the figures themselves (with sources), and an admin's CSV replacement of a data set."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from crocevia.advisor import figures as figs
from crocevia.advisor.scoring import GOALS, make_audience
from crocevia.api.deps import ActorDep, AuthDep, RuntimeDep
from crocevia.services import advisor
from crocevia.web.i18n import pick_language

router = APIRouter(tags=["advisor"])


class DatasetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description=f"one of {', '.join(figs.DATASETS)}")
    csv: str = Field(max_length=figs.MAX_CSV_BYTES, description="the whole CSV, same columns as the shipped one")


@router.get("/advisor")
def advise(request: Request, rt: RuntimeDep, who: AuthDep,
           country: Annotated[list[str], Query(description="ISO code, optionally with a weight: IT or IT:0.7")] = [],  # noqa: B006
           age: Annotated[str | None, Query(description="age range, e.g. 18-34 or 65+")] = None,
           interest: Annotated[list[str], Query(description="interests, matched to contact tags")] = [],  # noqa: B006
           goal: Annotated[str, Query(description=f"one of {', '.join(GOALS)}")] = "support",
           own: bool = True, lang: str | None = None) -> dict[str, Any]:
    """Apps ranked for the audience, each with expected reach, business features, sources and reasons.
    Countries without figures are named in ``no_data_countries``; nothing is guessed."""
    audience = make_audience(countries=country, age=age, interests=interest, goal=goal)
    language = pick_language(lang or who.user.language, request.headers.get("accept-language"))
    return advisor.advise(rt, who.actor, audience, lang=language, use_own=own)


@router.get("/advisor/datasets")
def datasets(rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """The data sets in use (shipped or uploaded) and the list of sources the figures cite."""
    current = advisor.workspace_figures(rt, actor)
    return {"datasets": advisor.datasets(rt, actor),
            "sources": [{"id": k, "title": v} for k, v in current.sources.items()]}


@router.get("/advisor/datasets/export.csv", response_class=PlainTextResponse)
def dataset_csv(rt: RuntimeDep, actor: ActorDep, name: str = "global_mau") -> PlainTextResponse:
    return PlainTextResponse(advisor.dataset_csv(rt, actor, name), media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@router.put("/advisor/datasets")
def upload(body: DatasetIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Replace one data set for this workspace (owner/admin). A wrong cell rejects the whole file, naming
    the line and column."""
    return advisor.upload_dataset(rt, actor, body.name, body.csv)


@router.delete("/advisor/datasets", status_code=204)
def reset(rt: RuntimeDep, actor: ActorDep, name: str | None = None) -> None:
    """Go back to the shipped copy of one data set."""
    advisor.reset_dataset(rt, actor, name)
