"""The Write room's widgets: editor, inspector, variants, token view, model picker and panel."""
