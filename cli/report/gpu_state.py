"""A record's GPU state during its measured calls (the runner's NVML telemetry, runner/telemetry.py):
whether the GPU slowed itself down (a figure to distrust: it looks like a regression) and a short
line of clocks, power and temperature. Records from before telemetry existed have none."""
from __future__ import annotations

from vercompare_runner.vocabulary import ABSENT, THROTTLED

THROTTLED_MARK = THROTTLED  # the word a throttled cell shows


def throttled(record: dict | None) -> bool:
    tel = (record or {}).get("telemetry")
    return isinstance(tel, dict) and tel.get(THROTTLED) is True


def reasons(record: dict) -> list[str]:
    value = ((record or {}).get("telemetry") or {}).get("throttle_reasons")
    return [str(r) for r in value] if isinstance(value, list) else []


def _median(tel: dict, field: str):
    value = tel.get(field)
    return value.get("median") if isinstance(value, dict) and ABSENT not in value else None


def text(record: dict | None) -> str:
    """"SM 1980 MHz, mem 3201 MHz, 612 W, 64 °C", or why there is none."""
    tel = (record or {}).get("telemetry")
    if not isinstance(tel, dict):
        return "-"
    parts = []
    for field, fmt in (("sm_clock_mhz", "SM {:.0f} MHz"), ("mem_clock_mhz", "mem {:.0f} MHz"),
                       ("power_w", "{:.0f} W"), ("temperature_c", "{:.0f} °C")):
        value = _median(tel, field)
        if value is not None:
            parts.append(fmt.format(value))
    if parts:
        return ", ".join(parts)
    why = tel.get("sm_clock_mhz")
    return f"none: {why[ABSENT]}" if isinstance(why, dict) and why.get(ABSENT) else "-"
