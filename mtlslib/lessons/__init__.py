"""Chapter helpers that print, plot or stage a story."""

