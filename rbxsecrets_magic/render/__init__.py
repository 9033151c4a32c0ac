"""Text, HTML and JSON for the results the front ends show."""
