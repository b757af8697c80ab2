"""Training and evaluation of ProPose: HybrIK-style data, the losses of the released recipe,
a torchrun/DDP trainer that exports the released checkpoint format, and HybrIK-protocol metrics.

Nothing is imported eagerly; use the submodules (`trainer`, `evaluate`, `datasets`, ...).
"""
