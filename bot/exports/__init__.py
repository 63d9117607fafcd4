"""What every file the project writes for staff has in common (spreadsheets: cells that stay text)."""
