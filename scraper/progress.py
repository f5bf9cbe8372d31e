"""How `scraper run` reports: rich progress bars on a terminal (one per source
and one overall), JSON lines for log collectors, or nothing (the CLI prints
the one-line summary itself)."""
from __future__ import annotations

import json
import sys
import time
from typing import IO

from .run import Event, RunSummary


class JsonLines:
    """One JSON object a line per failure, finished source and run summary."""

    def __init__(self, out: IO[str] | None = None):
        self.out = out or sys.stdout

    def __call__(self, event: Event) -> None:
        if event.kind == "item" and event.outcome == "failed":
            self._emit(event="failed", source=event.source, url=event.url, error=event.error)
        elif event.kind == "source_done" and event.summary is not None:
            self._emit(event="source_done", **vars(event.summary))

    def summary(self, summary: RunSummary) -> None:
        data = summary.to_dict()
        data.pop("sources")
        self._emit(event="summary", **data)

    def _emit(self, **fields) -> None:
        fields = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **fields}
        self.out.write(json.dumps(fields, ensure_ascii=False) + "\n")
        self.out.flush()


class Bars:
    """rich progress bars; failures are printed above them. A context manager."""

    def __init__(self, console=None):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn)
        self.console = console or Console(stderr=True)
        self.bars = Progress(TextColumn("{task.description:<20}"), BarColumn(),
                             MofNCompleteColumn(), TimeElapsedColumn(), console=self.console,
                             transient=False)
        self.tasks: dict[str, int] = {}
        self.overall = None

    def __enter__(self) -> Bars:
        self.bars.__enter__()
        self.overall = self.bars.add_task("[bold]all sources", total=0)
        return self

    def __exit__(self, *exc) -> None:
        self.bars.__exit__(*exc)

    def __call__(self, event: Event) -> None:
        if event.kind == "source":
            self.tasks[event.source] = self.bars.add_task(event.source, total=None)
        elif event.kind == "discovered":
            self.bars.update(self.tasks[event.source], total=event.total)
            total = self.bars.tasks[self.overall].total or 0
            self.bars.update(self.overall, total=total + (event.total or 0))
        elif event.kind == "item":
            self._item(event)
        elif event.kind == "source_done":
            task = self.tasks[event.source]
            if self.bars.tasks[task].total is None:
                self.bars.update(task, total=0)

    def _item(self, event: Event) -> None:
        if event.outcome == "failed":
            from rich.markup import escape
            self.console.print(f"[red]failed[/red] {escape(f'{event.source}: {event.url}: {event.error}')}",
                               highlight=False)
        task = self.tasks.get(event.source)
        if task is not None and self.bars.tasks[task].total:
            self.bars.advance(task)
            self.bars.advance(self.overall)
