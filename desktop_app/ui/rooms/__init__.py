"""One panel per room. ``ROOM_CLASSES`` lists them in side-bar order."""

from desktop_app.ui.rooms.compose import ComposePanel
from desktop_app.ui.rooms.explore import ExplorePanel
from desktop_app.ui.rooms.imagine import ImaginePanel
from desktop_app.ui.rooms.train import TrainPanel
from desktop_app.ui.rooms.write import WritePanel

ROOM_CLASSES = (WritePanel, ImaginePanel, ComposePanel, ExplorePanel, TrainPanel)
