import re

from setuptools import find_packages, setup


def _version():
    """tinywgan.__version__, read from the file (importing the package would need NumPy)."""
    with open("tinywgan/__init__.py", encoding="utf-8") as f:
        return re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)


setup(
    name="tinywgan",
    version=_version(),
    description="Wasserstein GANs from scratch in NumPy/CuPy: hand-derived backprop, "
                "the gradient penalty's double backward, and gradient checks for all of it",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["tinywgan", "tinywgan.*"]),
    package_data={"tinywgan.exercises": ["workbook/*.py"]},     # the workbook's files
    python_requires=">=3.9",
    install_requires=["numpy>=1.22"],
    extras_require={
        "test": ["pytest>=7", "hypothesis>=6.50", "scipy>=1.7", "matplotlib>=3.5",
                 "scikit-learn>=1.0",    # the digits loader is tested for real, not skipped
                 "mpmath>=1.1",          # the oracle of the activations' tails
                 "jupytext>=1.14", "nbclient>=0.7",   # the workbook and a demo as notebooks
                 "ipykernel>=6",
                 "threadpoolctl>=3"],    # BLAS threads where NumPy was loaded first
        "plot": ["matplotlib>=3.5"],
        "metrics": ["scipy>=1.7"],
        "digits": ["scikit-learn>=1.0"],
        "gpu": ["cupy>=12"],
        "notebooks": ["jupytext>=1.14", "nbclient>=0.7", "ipykernel>=6", "threadpoolctl>=3"],
        "threads": ["threadpoolctl>=3"],
    },
    entry_points={"console_scripts": ["tinywgan=tinywgan.cli:main"]},
)
