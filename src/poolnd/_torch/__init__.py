"""poolnd inside PyTorch: the custom ops (`poolnd._torch.ops`) and the opt-in routing of
``torch.nn.functional`` (`poolnd._torch.patch`) behind the public face `poolnd.torch`.

Both import torch; nothing imports this package unless ``poolnd.torch`` is imported.
"""
