"""Empathy: from how the user feels to what the avatar says, and how it feels saying it.

The chain of empathy (emotion -> cause -> need -> strategy -> the avatar's own
emotion -> the words) is made of small components, each data-driven, so a
therapist's dashboard can show why the avatar said what it said.
"""
