"""The core: what a learner reads, in this order. It imports nothing from outside itself but
the array backend and the argument checks (tests/test_house.py keeps it so).

    mlp.py        the network and every derivative of it: the linear map and the activations
                  (s, s', s'' exact in the tails), the MLP (forward, the one backward recurrence,
                  the input gradient), the gradient penalty's double backward, derived once
    steps.py      the losses, each training step once as a function of its inputs, and the
                  Trainer, which takes its parts (G, D, their optimizers, the steps) and loops
    optim.py      SGD, RMSProp, Adam on flat parameter buffers
    lipschitz.py  weight clipping and spectral normalisation

One WGAN-GP critic step, data to weight update, reads in the first three.
"""
