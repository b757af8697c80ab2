"""Every Blender custom-property key the add-on writes, in one place (one literal each).

Rigs, bodies, ghosts, markers and scenes carry these; a saved .blend keeps them, so a key once
shipped must not change. Modules import the names they use from here.
"""

# Pins and re-solves (pins.py)
PIN_FRAMES = "propose_pin_frames"  # (P,) scene frames
PIN_JOINTS = "propose_pin_joints"  # (P,) SMPL joint indices
PIN_ROTMATS = "propose_pin_rotmats"  # (P * 9,) SMPL local rotations, row-major
SOLVED_FRAMES = "propose_solved_pin_frames"  # the pin frames of the last re-solve (a removed pin's range)

# Retargeting (retarget.py)
SOURCE_PROPERTY = "propose_retarget_source"  # on a retargeted armature: the armature it follows
MAP_PROPERTY = "propose_retarget_map"  # JSON {target bone: SMPL joint}

# Review strip (review.py)
STRIP_PROPERTY = "propose_review"  # 1 over uncertain spans, 0 elsewhere (constant keys at span ends)
STAMP = "propose_review_stamp"  # on the rig: bumped whenever its uncertainty curves are rewritten

# The rig (rig.py)
RIG_TAG = "propose_rig"  # custom property marking an armature object made by this add-on

# Imported clips (importer.py)
RESULTS_PATH = "propose_results"  # on the rig: the file it was imported from
META = "propose_meta"  # on the rig: the results' metadata, as JSON
CLIP = "propose_clip"  # on the rig: the clip name its take belongs to
TAKE = "propose_take"  # on the rig: its take number (1 = the first import of that clip)
PHENOTYPE = "propose_phenotype"  # on the rig: the Anny phenotype of its body, when the results have one
STILL_CAMERA = "propose_still_camera"  # on the rig: 1 when its clip is placed as a tripod shot (no camera keys)

# Several people in one clip (cast.py)
PERSON = "propose_person"  # on the rig: the person's number in the clip (multi-person runs)
CAST = "propose_cast"  # on the scene: JSON of the clip index of the people imported (undone with the scene)
SPAN = "propose_span"  # on a person's rig: [first, last] scene frame of their track

# Uncertainty colours (uncertainty.py)
PROPERTY_PREFIX = "propose_unc_"  # + joint name, on the rig: that bone's animated uncertainty, degrees
VALID_PROPERTY = "propose_valid"  # on the rig: animated, 1 on frames with a person, 0 elsewhere
USER_COLORS = "propose_user_bone_colors"  # on the rig: each pose bone's own colour, kept while ours show
COLORS_OFF = "propose_colors_off"  # on the scene: 1 while the animator has the uncertainty colours off

# World placement (motion.py)
WORLD = "propose_world_from_camera"  # on the rig: 4x4 row-major world-from-camera transform (16 floats)

# Ghosts (posterior samples) (ghosts.py)
SAMPLES = "propose_samples"  # (N * S * 24 * 4,) float32 pose-bone quaternions
SAMPLE_FRAMES = "propose_sample_frames"  # (N,) scene frames that have samples
SAMPLE_DENSITY = "propose_sample_log_density"  # (N * S,) float32
SAMPLE_COUNT = "propose_sample_count"  # S
SAMPLE_MOTION_DENSITY = "propose_sample_motion_log_density"  # (S,) float32; only for ghosts that are whole motions
OUTER_SURFACE = "propose_outer_surface"  # vertex group of the body: its skin, without eyes, teeth, tongue
GHOST_OF = "propose_ghost_of"  # on ghost objects: the rig
GHOST_INDEX = "propose_ghost_index"  # on ghost objects: sample index = rank - 1 (0 = densest, see ghosts.py)

# Stills (snapshot.py)
MARKER_TAG = "propose_marker"  # on the temporary bone markers a still draws
