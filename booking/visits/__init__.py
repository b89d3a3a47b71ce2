"""Returning patients: sign in with a code emailed to the address they book with, see the visits of every patient
record under that address (a family), cancel or move them, and book again (README "Returning patients")."""
