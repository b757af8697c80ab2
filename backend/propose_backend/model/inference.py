"""The network in its inference form: batch norms folded into the convolutions, channels-last.

In eval mode a batch norm is an affine map per channel, so it can be folded into the weights
and bias of the convolution before it (torch.fx finds the pairs in the traced graph, and
torch's own `fuse_conv_bn_eval` folds each). That removes ~300 full-size passes over the
activations per image (the batch norms), the same outputs up to float rounding. Channels-last
is the layout oneDNN's CPU convolutions and cuDNN's tensor cores run natively, and the fused
heatmap decoding (`network.heatmap_soft_argmax`) reads that layout without a re-layout copy.

The folded network has no batch norms left to train and a different state-dict layout, so a
network is prepared after its weights are loaded, for inference only (training and checkpoints
keep `ProPoseNet`'s own layout).
"""
from __future__ import annotations

import torch
from torch import fx, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .network import ProPoseNet


def prepare_for_inference(net: ProPoseNet, channels_last: bool = True) -> ProPoseNet:
    """Turns `net` (weights loaded) into its inference form, in place, and returns it.

    Idempotent: a network already prepared is only moved to the layout asked for.
    """
    net.eval()
    if count_batch_norms(net.preact):
        net.preact = fold_batch_norms(net.preact)  # the unfolded backbone is freed here
    return net.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def fold_batch_norms(module: nn.Module) -> fx.GraphModule:
    """`module` (eval mode) traced, with every batch norm that only follows a convolution folded into it.

    The original module is left as it was: folded convolutions are new modules.
    """
    traced = fx.symbolic_trace(module.eval())
    modules = dict(traced.named_modules())
    for node in list(traced.graph.nodes):
        if node.op != "call_module" or not isinstance(modules[node.target], nn.BatchNorm2d):
            continue
        source = node.args[0]
        if not (isinstance(source, fx.Node) and source.op == "call_module" and len(source.users) == 1
                and isinstance(modules[source.target], nn.Conv2d)):
            continue  # a batch norm whose input is not a convolution's alone stays as it is
        folded = fuse_conv_bn_eval(modules[source.target], modules[node.target])
        parent, _, name = source.target.rpartition(".")
        setattr(modules[parent] if parent else traced, name, folded)  # the traced copy's own containers
        modules[source.target] = folded
        node.replace_all_uses_with(source)
        traced.graph.erase_node(node)
    traced.delete_all_unused_submodules()
    traced.recompile()
    return traced


def count_batch_norms(module: nn.Module) -> int:
    """Batch norms still executed by a module (0 once folded)."""
    return sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())
