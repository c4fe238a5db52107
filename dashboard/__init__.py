"""The admin home as the campaign manager's dashboard: how the shop is doing and what needs attention."""
