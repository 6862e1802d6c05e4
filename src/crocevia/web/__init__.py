"""The agent inbox: server-rendered pages (Jinja2) plus the project's own small ES modules.

No build step: templates and static files are read from this package, and the gettext
catalogues in ``i18n/`` are compiled from their ``.po`` sources when first needed.
"""
