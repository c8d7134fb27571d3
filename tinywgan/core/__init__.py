"""The core: what a learner reads, in this order. It imports nothing from outside itself but
the array backend and the argument checks (tests/test_house.py keeps it so).

    layers.py     the linear map and the activations: s, s', s'' exact in the tails
    mlp.py        the MLP: forward, the one backward recurrence, the input gradient
    penalty.py    the gradient penalty and its double backward, derived once, step by step
    losses.py     the Wasserstein and GAN losses, and the choice of loss for a method
    lipschitz.py  weight clipping and spectral normalisation
    optim.py      SGD, RMSProp, Adam on flat parameter buffers
    steps.py      each training step once, as a function of its inputs
    loop.py       the Trainer, which takes its parts (G, D, their optimizers, the steps) and loops
"""
