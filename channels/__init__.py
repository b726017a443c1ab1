"""Channel adapters: each turns provider events into hub `Inbound` messages and sends `Outbound` ones."""
