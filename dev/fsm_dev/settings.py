"""The dev tools' own settings (FSM_SYNTH_SCALE, FSM_BENCH_SCALE, FSM_UI_PORT, PY_SPY), typed; a wrong value names its variable.

The runtime's settings (FSM_LANDING, FSM_WAREHOUSE_URL, …) stay in `fsm.config.settings()`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fsm.config import SettingsError


class DevSettings(BaseSettings):
    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore", frozen=True)

    synth_scale: str = Field("small", validation_alias="FSM_SYNTH_SCALE")  # make run's synthetic landing zone
    bench_scale: str = Field("national", validation_alias="FSM_BENCH_SCALE")  # make bench without SCALE=
    ui_port: int = Field(8080, ge=1024, le=65535, validation_alias="FSM_UI_PORT")  # make ui's api-server
    py_spy: Path | None = Field(None, validation_alias="PY_SPY")  # make bench PROFILE=1; else the venv's, else PATH's

    @field_validator("synth_scale", "bench_scale")
    @classmethod
    def _known_scale(cls, value: str) -> str:
        from fsm_dev.synth.generator import SCALE_ALIASES, SCALES

        known = sorted([*SCALES, *SCALE_ALIASES])
        if value not in known:
            raise ValueError(f"expected one of {', '.join(known)}")
        return value

    @field_validator("py_spy")
    @classmethod
    def _executable(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("expected the path of the py-spy executable")
        return value


def dev_settings() -> DevSettings:
    """The dev settings in force now (read from the environment on each call)."""
    try:
        return DevSettings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "?"
            lines.append(f"{name}: {err['msg'].removeprefix('Value error, ')} (got {err.get('input')!r})")
        raise SettingsError("invalid dev settings: " + "; ".join(lines)) from None
