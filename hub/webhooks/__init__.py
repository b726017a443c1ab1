"""Outbound webhooks: hub events POSTed as signed JSON to the integrator URLs named in config.

`config` holds the `webhooks:` section, `events` maps live bus events to the public webhook events, `signing` the
HMAC scheme receivers check, `guard` the address rules (SSRF), `sender` the durable delivery queue with retries and
`api` the admin delivery log.  Imports hub only; nothing in hub imports this package except services and the app.
"""
