"""The web chat channel: a chat widget on the business's own site, served by the hub itself.

Unlike the other channels there is no third-party provider: the widget (``static/widget.js``)
talks to the hub's ``/webchat/<channel>/...`` endpoints, and agent replies reach the visitor
over the event bus and a WebSocket. See README.md beside this file.
"""
