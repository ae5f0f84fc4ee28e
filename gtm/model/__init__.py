"""The values every layer shares, and nothing that produces them: zones and policies
(`zone`), DNS and routing codes (`codes`), addresses (`addresses`), places and geo records
(`geo`), health views and votes (`health`), policy decisions (`decision`), and the exception
tree (`errors`). Pure."""
