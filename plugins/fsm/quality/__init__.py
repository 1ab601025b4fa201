"""Quality: the input suites and marking rules before the transform, the mart suites after it (GX 1.x, offline Data Docs).

`checks` is what the DAG's quality tasks call; `gx_runner` runs the suites in expectations/;
`data_docs` makes the rendered Data Docs work without internet.
"""

from fsm.quality.checks import DataQualityError, check_inputs, check_markings, check_markings_with_gx, check_marts

__all__ = ["DataQualityError", "check_inputs", "check_markings", "check_markings_with_gx", "check_marts"]
