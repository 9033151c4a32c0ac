"""What a user can do, with its rules written once for every front end."""
