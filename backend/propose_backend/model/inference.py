"""The network in its inference form: batch norms folded into the convolutions, channels-last,
and on the CPU each residual block's end fused into its last convolution.

In eval mode a batch norm is an affine map per channel, so it can be folded into the weights
and bias of the convolution before it (torch.fx finds the pairs in the traced graph, and
torch's own `fuse_conv_bn_eval` folds each). That removes 325 full-size passes over the
activations per image (the batch norms), the same outputs up to float rounding. Channels-last
is the layout oneDNN's CPU convolutions and cuDNN's tensor cores run natively, and the fused
heatmap decoding (`network.heatmap_soft_argmax`) reads that layout without a re-layout copy.
Measured figures and what was tried instead: docs/performance.md.

The folded network has no batch norms left to train and a different state-dict layout, so a
network is prepared after its weights are loaded, for inference only (training and checkpoints
keep `ProPoseNet`'s own layout).
"""
from __future__ import annotations

import operator

import torch
from torch import fx, nn
from torch.nn import functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .network import ProPoseNet


def prepare_for_inference(net: ProPoseNet, channels_last: bool = True, cpu: bool = False) -> ProPoseNet:
    """Turns `net` (weights loaded, on the device it will run on) into its inference form, in place.

    cpu=True also fuses each residual block's end (convolution, + shortcut, ReLU) into one oneDNN
    convolution with post-ops (CPU only: the network must then stay on the CPU). Idempotent: a
    network already prepared is only moved to the layout asked for.
    """
    net.eval()
    net.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    if count_batch_norms(net.preact):
        net.preact = fold_batch_norms(net.preact)  # the unfolded backbone is freed here
        if cpu:
            fuse_residual_relu(net.preact)
    return net


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


def fuse_residual_relu(traced: fx.GraphModule) -> int:
    """relu(conv(x) + shortcut) → one oneDNN convolution with "add" and "relu" post-ops, on the CPU.

    Saves the two full passes of the add and the ReLU at the end of every residual block (~110 in
    HRNet-W48). Uses the fused operator that torch.compile's CPU backend emits; where a torch build
    lacks it, nothing changes. Returns how many blocks were fused.
    """
    mkldnn = getattr(torch.ops, "mkldnn", None)
    if mkldnn is None or not hasattr(mkldnn, "_convolution_pointwise"):
        return 0
    fused_conv = mkldnn._convolution_pointwise.binary
    modules = dict(traced.named_modules())
    graph = traced.graph
    count = 0
    for relu in list(graph.nodes):
        if not (relu.op == "call_function" and relu.target in (F.relu, torch.relu)
                and not relu.kwargs.get("inplace", False) and len(relu.args) == 1):
            continue
        add = relu.args[0]
        if not (isinstance(add, fx.Node) and add.op == "call_function" and add.target in (operator.add, torch.add)
                and len(add.users) == 1 and len(add.args) == 2 and not add.kwargs):
            continue
        conv_node, shortcut = add.args
        if not _plain_conv(conv_node, modules):
            conv_node, shortcut = shortcut, conv_node
            if not _plain_conv(conv_node, modules):
                continue
        conv = modules[conv_node.target]
        with graph.inserting_before(relu):
            weight = graph.get_attr(f"{conv_node.target}.weight")
            bias = graph.get_attr(f"{conv_node.target}.bias")
            fused = graph.call_function(fused_conv, (
                conv_node.args[0], shortcut, weight, bias, list(conv.padding), list(conv.stride),
                list(conv.dilation), conv.groups, "add", 1.0, "relu", [], ""))
        relu.replace_all_uses_with(fused)
        for node in (relu, add, conv_node):
            graph.erase_node(node)
        count += 1
    graph.lint()
    traced.recompile()
    return count


def _plain_conv(node: object, modules: dict[str, nn.Module]) -> bool:
    """A 2-D convolution module call, used once, with a bias and numeric zero padding."""
    if not (isinstance(node, fx.Node) and node.op == "call_module" and len(node.users) == 1):
        return False
    conv = modules.get(node.target)
    return (isinstance(conv, nn.Conv2d) and conv.bias is not None and conv.padding_mode == "zeros"
            and not isinstance(conv.padding, str) and len(node.args) == 1 and not node.kwargs)


def count_batch_norms(module: nn.Module) -> int:
    """Batch norms still executed by a module (0 once folded)."""
    return sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())
