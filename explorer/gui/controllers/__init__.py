"""Controllers: sessions, exporting, model status and the look; each gets narrow collaborators."""
