"""What WhatsApp Cloud API, Messenger and Instagram Messaging share: they are all Meta Graph API.

- ``signature``: the ``X-Hub-Signature-256`` check (HMAC-SHA256 of the raw body, App Secret as key).
- ``handshake``: the GET ``hub.mode=subscribe`` / ``hub.verify_token`` / ``hub.challenge`` echo.
- ``graph``: calling the Graph API (``appsecret_proof``, transport errors) and mapping its errors.
- ``payload``: typed, path-naming access to webhook JSON, so bad input names the bad field.
- ``messaging_parse`` / ``messaging_send``: the Messenger-shaped webhook and Send API, which
  Instagram Messaging reuses almost unchanged.
"""
