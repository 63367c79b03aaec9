"""The Compose room's widgets: piano roll, variations, player, drag-out, controls, panel."""
