"""The chart engine in a child process: vl-convert renders there, so a crash of it cannot end the caller.

vl-convert is Rust; some inputs make it panic in a way that aborts the whole process (a character its SVG
text parser refuses did, exit 134), which Python cannot catch. The report sanitises text before it gets
here (`kraken_etl.core.visible`), and renders in `python -m kraken_etl.report.engine` as well: the child
boots the engine at once (while the parent runs its queries), reads the chart specifications as one JSON
list on stdin and writes the SVGs as one JSON list on stdout. A child that dies, hangs or answers with
anything but SVG becomes a `ChartError` (one line), never the end of the `report` command or of the nightly
flow that called it.

`checked_svg` parses each SVG before the page inserts it: it may hold only the elements Vega draws with, so
a fault in the engine's escaping cannot add a link, a form or a script to the report.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from kraken_etl.core.errors import KrakenEtlError

# What Vega's SVG renderer draws with (marks, axes, legends, clipping); anything else is refused.
SVG_ELEMENTS = frozenset({"svg", "g", "path", "rect", "line", "text", "defs", "clipPath", "title", "desc",
                          "circle", "ellipse", "polygon", "polyline", "tspan", "linearGradient",
                          "radialGradient", "stop", "style"})
_NS = "{http://www.w3.org/2000/svg}"
TIMEOUT_SECONDS = 600.0


class ChartError(KrakenEtlError):
    """The chart engine crashed, hung or drew something that is not a plain chart."""


def checked_svg(svg: str) -> str:
    """`svg` from its `<svg` tag on, after checking it parses and holds only drawing elements.

    Raises:
        ChartError: when it does not parse or holds another element (a link, a form, a script, …).
    """
    start = svg.find("<svg")
    body = svg[start:] if start >= 0 else svg
    try:
        root = ET.fromstring(body)  # noqa: S314 - the engine's own output, no DTD; parsed to be checked
    except ET.ParseError as exc:
        raise ChartError(f"the chart engine returned SVG that does not parse ({exc})") from None
    for element in root.iter():
        tag = element.tag.removeprefix(_NS)
        if tag not in SVG_ELEMENTS:
            raise ChartError(f"the chart engine returned an unexpected <{tag}> element: chart refused")
        for name in element.attrib:
            if "href" in name.lower() or name.lower().removeprefix(_NS).startswith("on"):
                raise ChartError(f"the chart engine returned an unexpected {name!r} attribute: chart refused")
    return body


class ChartEngine:
    """One child process running vl-convert; start it early, `render` once, then it is gone."""

    def __init__(self) -> None:
        self._child = subprocess.Popen(
            [sys.executable, "-m", "kraken_etl.report.engine"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )

    def render(self, specs: Sequence[Mapping[str, Any]]) -> list[str]:
        """The SVG of each specification, in order.

        Raises:
            ChartError: the child crashed (a panic aborts it), timed out or answered with something else.
        """
        payload = json.dumps(list(specs)).encode()
        try:
            out, err = self._child.communicate(payload, timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.close()
            raise ChartError(f"the chart engine did not answer within {TIMEOUT_SECONDS:.0f} s") from None
        if self._child.returncode != 0:
            lines = err.decode("utf-8", "replace").strip().splitlines()
            cause = next((line for line in lines if "panicked" not in line and line.strip()), "") if lines else ""
            raise ChartError(f"the chart engine crashed (exit {self._child.returncode})"
                             + (f": {cause.strip()[:300]}" if cause else ""))
        try:
            svgs = json.loads(out)
        except ValueError:
            raise ChartError("the chart engine's answer is not JSON") from None
        if not isinstance(svgs, list) or len(svgs) != len(specs) or not all(isinstance(s, str) for s in svgs):
            raise ChartError("the chart engine's answer is not one SVG per chart")
        return svgs

    def close(self) -> None:
        """End the child if it is still running (after an error in the caller)."""
        if self._child.poll() is None:
            self._child.kill()
            self._child.communicate()

    def __enter__(self) -> ChartEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main() -> None:
    """The child: boot the engine, read the specs (JSON list on stdin), write the SVGs (JSON list on stdout)."""
    from kraken_etl.report import charts

    charts.warm_up()
    specs = json.loads(sys.stdin.buffer.read() or b"[]")
    svgs = [charts.render_svg(spec) for spec in specs]
    sys.stdout.write(json.dumps(svgs))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
