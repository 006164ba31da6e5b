"""Assay's engine: catalogue, rule packs, inference on durable_rules, results, audit trail.

The engine is pure: it imports nothing from ``audits`` or ``certificates`` and no CLI or web
framework, and it never reads the wall clock or draws random ids (both are injected).
"""
