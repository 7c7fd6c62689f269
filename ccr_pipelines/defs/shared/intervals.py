"""Sensor intervals: production values in code, one variable to shorten them all (tests, demos).

``CCR_SENSOR_INTERVAL_S`` caps every sensor's minimum interval (it never lengthens one), so the
daemon end-to-end test can run the real sensors at test speed without changing what production
runs. Unset, each sensor keeps its own interval.
"""

import os


def interval_s(default: int) -> int:
    raw = os.environ.get("CCR_SENSOR_INTERVAL_S", "").strip()
    if not raw:
        return default
    try:
        cap = int(raw)
    except ValueError:
        return default
    return max(1, min(default, cap))
