from setuptools import find_packages, setup

setup(
    name="tinywgan",
    version="0.1.0",
    description="Wasserstein GANs from scratch in NumPy/CuPy: hand-derived backprop, "
                "the gradient penalty's double backward, and gradient checks for all of it",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["tinywgan", "tinywgan.*"]),
    python_requires=">=3.9",
    install_requires=["numpy>=1.22"],
    extras_require={
        "test": ["pytest>=7", "hypothesis>=6.50", "scipy>=1.7", "matplotlib>=3.5",
                 "scikit-learn>=1.0",    # the digits loader is tested for real, not skipped
                 "mpmath>=1.1",          # the oracle of the activations' tails
                 "jupytext>=1.14", "nbclient>=0.7", "ipykernel>=6"],   # a demo run as a notebook
        "plot": ["matplotlib>=3.5"],
        "metrics": ["scipy>=1.7"],
        "digits": ["scikit-learn>=1.0"],
        "gpu": ["cupy>=12"],
        "notebooks": ["jupytext>=1.14", "nbclient>=0.7", "ipykernel>=6"],
    },
    entry_points={"console_scripts": ["tinywgan=tinywgan.cli:main"]},
)
