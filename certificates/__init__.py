"""Certificates: rendering, signing and verification, register and lifecycle.

Empty until the certificate issue lands; the engine never imports it.
"""
