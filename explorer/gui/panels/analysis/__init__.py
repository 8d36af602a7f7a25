"""Lens panels beyond raw attention: rollout, flow, norm-based, head statistics, top-k."""
