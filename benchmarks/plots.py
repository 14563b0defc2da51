"""Render the recorded benchmark figures as PNG plots into docs/ (matplotlib).

Sources, read as they are (no benchmark is run here):
  docs/benchmarks/load.json   written by benchmarks/load.py: the load and memory plots
                              (docs/benchmarks-load-memory.png, docs/benchmarks-load-time.png);
  docs/benchmarks/*.json      any other file shaped {row: {column: number}}: one bar chart each;
  docs/benchmarks.md          every Markdown table under a `## Section` (other than "Load and
                              memory") with a text first column and numeric columns: one chart per
                              table, a group of bars per numeric column (docs/benchmarks-<section>.png).

Run: .venv/bin/python benchmarks/plots.py [--out docs]
"""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FIGURES = DOCS / "benchmarks"
LOAD_SECTION = "load and memory"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def number(cell: str) -> float | None:
    """A table cell as a number ("12,345", "1.5 ms", "x2.1", "**3**"), or None when it is not one."""
    text = cell.strip().strip("*`").replace(",", "").replace("\u202f", "")
    match = re.fullmatch(r"x?\s*(-?\d+(?:\.\d+)?)\s*(?:%|[a-zA-Zµ/]+(?:/s)?)?", text)
    return float(match.group(1)) if match else None


def tables(markdown: str) -> list[tuple[str, list[str], list[list[str]]]]:
    """(section, header, rows) for every pipe table, with the `##` section it sits in."""
    found: list[tuple[str, list[str], list[list[str]]]] = []
    section = ""
    lines = markdown.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("## "):
            section = line[3:].strip()
        if (
            line.lstrip().startswith("|")
            and index + 1 < len(lines)
            and re.match(r"^\s*\|[\s:|-]+\|\s*$", lines[index + 1])
        ):
            header = [cell.strip() for cell in line.strip().strip("|").split("|")]
            rows = []
            index += 2
            while index < len(lines) and lines[index].lstrip().startswith("|"):
                rows.append([cell.strip() for cell in lines[index].strip().strip("|").split("|")])
                index += 1
            found.append((section, header, rows))
            continue
        index += 1
    return found


Panel = tuple[str, list[str], dict[str, list[float]]]  # (subtitle, labels, series)


def bar_chart(title: str, labels: list[str], series: dict[str, list[float]], path: Path, unit: str = "") -> Path:
    """Grouped horizontal bars: one group per label, one bar per series."""
    return panel_chart(title, [("", labels, series)], path, unit)


def panel_chart(title: str, panels: list[Panel], path: Path, unit: str = "") -> Path:
    """One panel of grouped horizontal bars per (subtitle, labels, series), each with its own scale."""
    sizes = [len(labels) * max(len(series), 1) ** 0.5 for _, labels, series in panels]
    figure, axes_list = plt.subplots(
        len(panels),
        1,
        figsize=(8, 0.9 + sum(0.6 + 0.42 * size for size in sizes)),
        squeeze=False,
        height_ratios=[0.6 + size for size in sizes],
    )
    for axes, (subtitle, labels, series) in zip([row[0] for row in axes_list], panels, strict=True):
        count = len(series)
        height = 0.8 / max(count, 1)
        for position, (name, values) in enumerate(series.items()):
            offsets = [i + position * height for i in range(len(labels))]
            bars = axes.barh(offsets, values, height=height, label=name)
            shown = ["" if math.isnan(v) else f"{v:,.6g}" for v in values]
            axes.bar_label(bars, labels=shown, padding=3, fontsize=8)
        axes.set_yticks([i + height * (count - 1) / 2 for i in range(len(labels))], labels)
        axes.invert_yaxis()
        if subtitle:
            axes.set_title(subtitle, fontsize=10)
        if unit:
            axes.set_xlabel(unit)
        if count > 1:
            axes.legend(fontsize=8)
        elif count == 1 and not unit:
            axes.set_xlabel(next(iter(series)))
        axes.margins(x=0.2)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def load_plots(results: dict[str, Any], out: Path) -> list[Path]:
    made = []
    memory_labels: list[str] = []
    measured: list[float] = []
    targets: list[float] = []
    idle = results.get("idle")
    if idle:
        memory_labels.append(f"{idle['connections']:,} idle connections\n(heart-beats {idle['heartbeat_ms']} ms)")
        measured.append(idle["broker_rss_growth_after_hold_mb"])
        targets.append(idle["target_mb"])
    queued = results.get("queued")
    if queued:
        memory_labels.append(f"{queued['messages']:,} queued\n{queued['body_bytes']}-byte messages")
        measured.append(queued["broker_rss_growth_mb"])
        targets.append(queued["target_mb"])
    slow = results.get("slow")
    if slow:
        memory_labels.append(f"slow consumer, prefetch {slow['prefetch']}\n({slow['messages']:,} messages)")
        measured.append(slow["broker_rss_growth_mb"])
        targets.append(0)
    if memory_labels:
        made.append(
            bar_chart(
                "Fake broker memory (RSS growth) against the issue 8 targets",
                memory_labels,
                {"measured": measured, "target": targets},
                out / "benchmarks-load-memory.png",
                "MB",
            )
        )
    rates: dict[str, float] = {}
    if queued:
        rates["queue 1e6: send (msgs/s)"] = queued["send_msgs_per_s"]
        rates["queue 1e6: drain (msgs/s)"] = queued["drain_msgs_per_s"]
    restarts = results.get("restarts")
    timings: dict[str, float] = {}
    if restarts:
        timings["broker restart (ms)"] = restarts["ms_per_broker_restart"]
        timings["restart + reconnect + 3 acks (ms)"] = restarts["ms_per_restart_cycle"]
    restarts_async = results.get("restarts-async")
    if restarts_async:
        timings["the same, AsyncClient (ms)"] = restarts_async["ms_per_restart_cycle"]
    if idle:
        timings[f"open {idle['connections']:,} connections (s)"] = idle["connect_s"]
    if rates:
        made.append(
            bar_chart(
                "Queue of 1,000,000 100-byte messages",
                list(rates),
                {"rate": list(rates.values())},
                out / "benchmarks-load-rates.png",
            )
        )
    if timings:
        made.append(
            bar_chart(
                "Faults and connections: time",
                list(timings),
                {"time": list(timings.values())},
                out / "benchmarks-load-time.png",
            )
        )
    return made


def json_plots(path: Path, out: Path) -> list[Path]:
    data = json.loads(path.read_text())
    rows = {name: row for name, row in data.items() if isinstance(row, dict)}
    columns = sorted({key for row in rows.values() for key, value in row.items() if isinstance(value, (int, float))})
    if not rows or not columns:
        return []
    series = {column: [float(rows[name].get(column, 0) or 0) for name in rows] for column in columns}
    return [bar_chart(path.stem, list(rows), series, out / f"benchmarks-{slug(path.stem)}.png")]


def markdown_plots(path: Path, out: Path) -> list[Path]:
    made = []
    seen: dict[str, int] = {}
    for section, header, rows in tables(path.read_text()):
        if not section or section.lower() == LOAD_SECTION or not rows:
            continue
        numeric = []
        for column in range(1, len(header)):
            cells = [row[column] if column < len(row) else "" for row in rows]
            filled = [cell for cell in cells if cell]
            if filled and len(filled) * 2 >= len(cells) and all(number(cell) is not None for cell in filled):
                numeric.append(column)
        labels = []
        firsts = []
        previous = [""] * len(header)
        for row in rows:  # an empty text cell repeats the one above (rows grouped under a first cell)
            texts = []
            for column in range(len(header)):
                if column in numeric:
                    continue
                cell = row[column] if column < len(row) else ""
                if column == 0 and not cell:
                    cell = previous[0]
                previous[column] = cell
                if column == 0:
                    firsts.append(cell)
                if number(cell) is None and cell:
                    texts.append(cell.replace("`", "").strip("*"))
            labels.append(" / ".join(texts[:2]))
        series: dict[str, list[float]] = {}
        for column in numeric:
            found = [number(row[column]) if column < len(row) else None for row in rows]
            series[header[column]] = [math.nan if value is None else value for value in found]
        if not series:
            continue
        name = slug(section)
        seen[name] = seen.get(name, 0) + 1
        suffix = f"-{seen[name]}" if seen[name] > 1 else ""
        # columns of very different scales get a chart each, so that no bar is invisible
        groups: list[dict[str, list[float]]] = []
        for title, column_values in series.items():
            peak = _peak(column_values)
            for group in groups:
                if 0.1 <= peak / max(_peak(v) for v in group.values()) <= 10:
                    group[title] = column_values
                    break
            else:
                groups.append({title: column_values})
        # rows grouped under a repeated first cell (a workload, say) get a panel each, with its own scale
        blocks = list(dict.fromkeys(firsts))
        grouped = 1 < len(blocks) < len(rows)
        for position, group in enumerate(groups):
            extra = f"-{position + 1}" if len(groups) > 1 else ""
            panels: list[Panel] = []
            for block in blocks if grouped else [""]:
                keep = [i for i, first in enumerate(firsts) if first == block or not grouped]
                # the first text column names a row (the second, under a group); the rest is detail
                shown = [
                    _clip(labels[i].removeprefix(block + " / ") if grouped else labels[i].split(" / ")[0]) for i in keep
                ]
                subtitle = f"{header[0]} {block}" if block and number(block) is not None else block
                panels.append((subtitle, shown, {k: [v[i] for i in keep] for k, v in group.items()}))
            made.append(panel_chart(section, panels, out / f"benchmarks-{name}{suffix}{extra}.png"))
    return made


def _clip(text: str, size: int = 36) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _peak(values: list[float]) -> float:
    return max((v for v in values if not math.isnan(v)), default=1.0) or 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DOCS, help="where the PNG files go (default docs/)")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    load = FIGURES / "load.json"
    if load.exists():
        made += load_plots(json.loads(load.read_text()), out)
    for path in sorted(FIGURES.glob("*.json")) if FIGURES.exists() else []:
        if path.name != "load.json":
            made += json_plots(path, out)
    markdown = DOCS / "benchmarks.md"
    if markdown.exists():
        made += markdown_plots(markdown, out)
    for path in made:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
