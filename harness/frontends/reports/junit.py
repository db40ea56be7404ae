"""The matrix as JUnit XML, for CI systems that show test results (`merge --junit`): one
testsuite per engine, one testcase per cell; a cell not as promised is a failure, a cell
without a verdict an error."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from harness.frontends.reports.comparison import EngineRun


def matrix_junit(runs: Sequence[EngineRun]) -> str:
    suites = ET.Element("testsuites", name="persistence matrix")
    for run in runs:
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=run.name,
            tests=str(len(run.results)),
            failures=str(sum(not r.error and not r.passed for r in run.results)),
            errors=str(sum(bool(r.error) for r in run.results)),
        )
        for result in run.results:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=result.cell.table,
                name=result.cell.id,
                time=f"{result.seconds:.1f}",
            )
            if result.error:
                ET.SubElement(case, "error", message=result.error)
            elif not result.passed:
                ET.SubElement(case, "failure", message=result.failure_message())
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
