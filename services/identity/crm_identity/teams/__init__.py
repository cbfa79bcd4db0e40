"""Teams: a tree with managers; a user belongs to at most one team."""
