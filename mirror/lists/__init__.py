"""Mirror lists: the two layouts a user may keep (see DESIGN.md)."""
