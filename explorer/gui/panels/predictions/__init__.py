"""What the checkpoint's own head predicts: one page per head kind, and the logit lens."""
