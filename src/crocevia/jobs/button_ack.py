"""Answer the platform when a customer presses a button, so its app stops showing a spinner."""

from __future__ import annotations

import httpx

from crocevia.channels.registry import get_adapter
from crocevia.jobs.tasks import task_handler
from crocevia.runtime import Runtime
from crocevia.services.channels import config_for
from crocevia.storage.tables import Channel, Message, Task

KIND = "button.ack"


@task_handler(KIND)
def acknowledge_button(rt: Runtime, task: Task) -> None:
    with rt.db.read() as s:
        msg = s.get(Message, int(task.payload["message_id"]))
        channel = s.get(Channel, msg.channel_id) if msg else None
    if msg is None or channel is None or not msg.provider_message_id:
        return
    with httpx.Client(timeout=10.0) as http:
        get_adapter(channel.kind).acknowledge_button(msg.provider_message_id, msg.content or {},
                                                     config_for(rt, channel), http)
