"""Hands: finger landmarks from the footage and a matrix-Fisher posterior over the 30 finger joints.

landmarks.py finds each hand in a crop placed from the body's wrist and hand landmarks (MediaPipe's
bundled palm detector and hand landmarker); rest.py gives the body's rest hand; fingers.py turns
the 21 landmarks of a hand into the 15 finger rotations with their posterior, under an anatomical
finger prior, and refines the wrist by the palm.
"""
