"""Neighbours, search, hover cards, the live link and bookmarks of the explorer (GUI thread).

A mixin of :class:`~desktop_app.ui.explore.view.ExploreView`: it uses the view's ``data``,
``xy``, ``linear``, ``selected`` and widgets, and keeps the view module short.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint
from PySide6.QtGui import QIcon

from desktop_app.core import projection as pj
from desktop_app.ui.explore.preview import piano_roll_pixmap, pixmap_from_pixels


class LookupMixin:
    """Neighbours, search, hover, live link, bookmarks (GUI thread)."""

    # -- neighbours and search ---------------------------------------------------------------

    def _show_neighbours(self, query=None, title: str = "") -> None:
        if self.data is None:
            return
        exclude = None
        if query is None:
            if self.selected is None:
                return
            query, exclude, title = self.data.codes[self.selected], self.selected, \
                self.data.names[self.selected]
        idx, dist = pj.nearest_neighbours(self.data.codes, query, 12, self.neighbours.metric(),
                                          exclude=exclude)
        icons = None
        if self.data.thumbs is not None:
            icons = [QIcon(pixmap_from_pixels(self.data.thumbs[i], 28)) for i in idx]
        self.neighbours.show_neighbours(title, [(int(i), self.data.names[i], float(d))
                                                for i, d in zip(idx, dist)], icons)
        self.latentMap.highlight(idx)

    def search(self, text: str) -> list[int]:
        if self.data is None:
            return []
        found = pj.search_labels(self.data.names, text, self.data.categories)
        self.latentMap.highlight(found)
        return found

    def _on_search_changed(self, text: str) -> None:
        found = self.search(text)
        if text.strip():
            self.set_status(f"{len(found):,} item(s) match “{text.strip()}”"
                            + ("" if found else " — try another label or word"))

    def _on_search_return(self) -> None:
        found = self.search(self.controls.latentSearch.text())
        if found:
            self.select_point(found[0])

    # -- hover, live link, bookmarks ---------------------------------------------------------

    def _on_point_hovered(self, index: int, gx: int, gy: int) -> None:
        if self.data is None or index < 0:
            self.hover.hide()
            return
        d = self.data
        pix, html = None, f"<b>{d.names[index]}</b>"
        for key, values in list(d.categories.items())[:2]:
            html += f"<br><span style='color:gray'>{key}: {values[index]}</span>"
        if d.kind == "image" and d.thumbs is not None:
            pix = pixmap_from_pixels(d.thumbs[index], 64)
        elif d.kind == "music" and index < len(d.melodies):
            pix = piano_roll_pixmap(d.melodies[index])
        elif d.kind == "text":
            idx, _ = pj.nearest_neighbours(d.codes, d.codes[index], 5, "cosine", exclude=index)
            html += "<br><span style='color:gray'>near: " + ", ".join(d.names[i] for i in idx) \
                + "</span>"
        self.hover.show_at(QPoint(gx, gy), pix, html)

    def set_current_latent(self, model: str, z) -> None:
        """Live link: show where a room's current latent ``z`` falls on this map."""
        if z is None:
            return
        self._live = (str(model), np.asarray(z, np.float32))
        if self.data is None or len(self.xy) != len(self.data):
            return                                    # shown once the map arrives
        if Path(str(model)).name != Path(str(self.data.model)).name:
            return
        z = np.asarray(z, np.float32).ravel()
        if z.size != self.data.codes.shape[1]:
            return
        if self.linear is not None:
            self.latentMap.set_current(self.linear.transform(z[None])[0])
        else:
            idx, _ = pj.nearest_neighbours(self.data.codes, z, 1, "euclidean")
            self.latentMap.set_current(self.xy[int(idx[0])])

    def _on_bookmark_point(self) -> None:
        if self.data is None or self.selected is None:
            self.set_status("Select a point first, then bookmark it.")
            return
        self.bookmarks.add({"title": f"● {self.data.names[self.selected]}",
                            "point": int(self.selected)})

    def _on_bookmark_view(self) -> None:
        if self.data is None:
            return
        r = self.latentMap.view_range()
        self.bookmarks.add({"title": f"▭ {self.method} view ({r[0]:.1f}…{r[1]:.1f})",
                            "view": list(r), "method": self.method})

    def _on_bookmark_activated(self, b: dict) -> None:
        if "point" in b:
            self.select_point(int(b["point"]))
        elif "view" in b:
            if b.get("method") and b["method"] != self.method:
                self.controls.projectionCombo.setCurrentText(b["method"])
            self.latentMap.set_view_range(b["view"])
