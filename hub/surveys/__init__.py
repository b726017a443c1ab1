"""Satisfaction surveys after each resolution, the complaint follow-up of a low score, and customer check-ins.

May import hub's core (store, domain, scheduler, outbox, actions); never a concrete channel.
"""
