"""Evidence packs: pydantic models of every evidence kind, verifications and claims."""
